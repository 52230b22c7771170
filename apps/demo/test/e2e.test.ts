import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from './helpers.js';

// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core.
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
// the README's screenshot is tracked: a run rewrites it only when it is missing or when asked
// (UPDATE_SCREENSHOT=1); otherwise the test still takes one, in the temp folder
const committedScreenshot = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'dashboard.png');
const screenshot =
  process.env.UPDATE_SCREENSHOT === '1' || !existsSync(committedScreenshot)
    ? committedScreenshot
    : join(tmpdir(), `tracks-dashboard-${process.pid}.png`);

if (!hasChromium && !inCi) {
  console.warn(`dashboard e2e skipped: ${CHROMIUM} is absent (apt-get install chromium to run it)`);
}

describe.skipIf(!hasChromium && !inCi)('dashboard in headless Chromium', () => {
  let demo: RunningDemo;
  let userDataDir: string;
  // biome-ignore lint/suspicious/noExplicitAny: playwright-core is imported lazily
  let context: any;
  // biome-ignore lint/suspicious/noExplicitAny: playwright-core is imported lazily
  let page: any;

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(`CI=true requires ${CHROMIUM} for the dashboard e2e test, and it is absent`);
    // a 2.5 s open period, longer than a call's 2 s retry budget: an open breaker answers 503 at
    // once, and the test sees it probe and recover within a few seconds
    demo = await startDemo({ BREAKER_TIMEOUT_MS: '2500', RETRY_MAX_ELAPSED_MS: '2000' });
    const { chromium } = await import('playwright-core');
    userDataDir = mkdtempSync(join(tmpdir(), 'tracks-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 1100 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await demo?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('sends an email from the form and shows it in the inbox', async () => {
    await page.goto(demo.url);
    await page.locator('#live[data-connected="true"]').waitFor();
    await page.locator('#card-email[data-state="closed"]').waitFor();
    // every control has a label a screen reader can announce
    // (a string: it runs in Chromium, where the DOM is, not in this Node process)
    const unlabeled = await page.evaluate(`
      [...document.querySelectorAll('input, textarea, select, button')]
        .filter((el) => el.tagName === 'BUTTON' ? el.textContent.trim() === '' : el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.id || el.outerHTML)
    `);
    expect(unlabeled).toEqual([]);
    await page.getByLabel('Subject').fill('Hello from the browser');
    // keyboard only: from the text field, Tab reaches the button and Enter sends
    await page.locator('#email-text').focus();
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement.textContent')).resolves.toBe('Send email');
    await page.keyboard.press('Enter');
    await page.locator('#email-result', { hasText: 'accepted by smtp' }).waitFor();
    await page.locator('#inbox .mail .subject', { hasText: 'Hello from the browser' }).waitFor();
    expect(demo.app.smtpSink?.messages()[0]?.subject).toBe('Hello from the browser');
  }, 30_000);

  it('turns the email card open under 100 % failures and closed again once they are cleared', async () => {
    const rate = page.locator('#fault-email-rate');
    await rate.fill('100');
    await rate.dispatchEvent('change');
    await page.locator('#fault-email-status', { hasText: '100 % failures' }).waitFor();

    // the outbox takes what the provider cannot: queued, not refused
    const send = page.getByRole('button', { name: 'Send email' });
    for (let i = 0; i < 4; i++) {
      await send.click();
      await page.locator('#email-result', { hasText: /^queued for delivery/ }).waitFor();
      if ((await page.locator('#card-email').getAttribute('data-state')) === 'open') break;
    }
    await page.locator('#card-email[data-state="open"]').waitFor();
    await page.locator('#outbox:not([data-pending="0"])[data-pending]').waitFor();
    await expect(page.locator('#outbox-stats').textContent()).resolves.toMatch(/waiting\d+/);
    await expect(page.locator('[data-breaker="email:smtp"] [data-badge]').textContent()).resolves.toBe(
      'open',
    );
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    if (screenshot !== committedScreenshot) rmSync(screenshot, { force: true });

    // a reloaded page shows the faults still in force
    await page.reload();
    await page.locator('#live[data-connected="true"]').waitFor();
    await expect(page.locator('#fault-email-rate').inputValue()).resolves.toBe('100');
    await expect(page.locator('#fault-email-rate-value').textContent()).resolves.toBe('100 %');

    await page.getByRole('button', { name: 'Clear faults' }).first().click();
    await page.locator('#fault-email-status', { hasText: '0 % failures' }).waitFor();
    // the email preset closes after 5 successful probes in half-open; the outbox's deliveries
    // of the queued mail are probes too
    for (let i = 0; i < 40; i++) {
      await page.waitForTimeout(150);
      await send.click();
      await page.locator('#email-result', { hasText: /^(accepted|queued)/ }).waitFor();
      if ((await page.locator('#card-email').getAttribute('data-state')) === 'closed') break;
    }
    await page.locator('#card-email[data-state="closed"]').waitFor();
    // the queued mail went out: the queue is empty, nothing died
    await page.locator('#outbox[data-pending="0"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#dead-empty').isVisible()).resolves.toBe(true);
    const states = demo.logs.filter((line) => line.breaker === 'email:smtp').map((line) => line.to);
    expect(states).toEqual(expect.arrayContaining(['open', 'half-open', 'closed']));
  }, 30_000);

  it('lists a dead letter and sends it again from its Retry button', async () => {
    // its own demo: one attempt per job, and a short timeout for the hung provider that kills it
    const dead = await startDemo({ OUTBOX_MAX_ATTEMPTS: '1', PROVIDER_TIMEOUT_MS: '300' });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${dead.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      // warm the SMTP connection, then hang the provider: the job's one delivery times out
      expect(
        (await post('/api/email', { to: 'ada@example.com', subject: 'warm-up', text: 't' })).status,
      ).toBe(202);
      await post('/api/faults', { service: 'email', failureRate: 0, hang: true });
      const { id } = await dead.app.outbox!.enqueue('email', {
        to: ['ada@example.com'],
        from: dead.app.config.email.from,
        subject: 'back from the dead',
        text: 'retried by hand',
      });
      await page.goto(dead.url);
      const letter = page.locator(`#dead-letters li[data-job="${id}"]`);
      await letter.waitFor({ timeout: 10_000 });
      await expect(letter.textContent()).resolves.toMatch(/max-attempts/);

      await post('/api/faults', { service: 'email', failureRate: 0, hang: false });
      await letter.getByRole('button', { name: /^Retry dead letter/ }).click();
      await page.locator('#outbox-result', { hasText: 'sent again' }).waitFor();
      await letter.waitFor({ state: 'detached', timeout: 10_000 });
      await page
        .locator('#inbox .mail .subject', { hasText: 'back from the dead' })
        .waitFor({ timeout: 10_000 });
    } finally {
      await dead.close();
    }
  }, 30_000);
});
