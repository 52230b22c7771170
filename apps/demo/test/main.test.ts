import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteLoads } from './helpers.js';

// The built entry point, as `pnpm demo` starts it: `node apps/demo/dist/main.js`.
const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const cwd = mkdtempSync(join(tmpdir(), 'tracks-main-'));
const children = new Set<ChildProcess>();

// a clean environment: only what node needs, so the developer's own settings cannot leak in
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: cwd, ...extra };
}

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], { cwd, env: environment(env), stdio: 'pipe' });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(cwd, { recursive: true, force: true });
});

describe('dist/main.js', () => {
  it('is built (the test command builds before it tests)', () => {
    expect(existsSync(main), `${main} is missing: run \`npx turbo run build --filter=@tracks/demo...\``).toBe(
      true,
    );
  });

  it.concurrent.each([
    [{ EMAIL_PROVIDER: 'foo' }, 'unknown email provider: foo'],
    [{ SMS_PROVIDER: 'carrier-pigeon' }, 'unknown SMS provider: carrier-pigeon'],
    [{ STORAGE_PROVIDER: 'floppy' }, 'unknown storage provider: floppy'],
    [
      { EMAIL_PROVIDER: 'sendgrid' },
      'missing setting: SENDGRID_API_KEY (required by EMAIL_PROVIDER=sendgrid)',
    ],
    [{ PORT: 'http' }, 'PORT must be an integer from 0 to 65535, got "http"'],
  ])('exits non-zero with one line on stderr for %o', async (env, line) => {
    const result = await run(env);
    expect(result.code).not.toBe(0);
    expect(result.stderr.startsWith(line)).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
    expect(result.stdout).toBe('');
  });

  it('exits 0 on SIGINT (Ctrl-C)', async () => {
    const child = spawn(process.execPath, [main], {
      cwd,
      env: environment({ PORT: '0', LOG_LEVEL: 'warn' }),
      stdio: 'pipe',
    });
    children.add(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        if (String(chunk).includes('listening on')) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('starts with no configuration, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [main], {
      cwd,
      env: environment({ PORT: '0', LOG_LEVEL: 'warn' }),
      stdio: 'pipe',
    });
    children.add(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const breakers = (await (await fetch(`${url}/api/breakers`)).json()) as { name: string }[];
    expect(breakers.map((b) => b.name).sort()).toEqual(['email:smtp', 'sms:log', 'storage:fs']);
    const sent = await fetch(`${url}/api/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'ada@example.com', subject: 'hi', text: 'from the built app' }),
    });
    expect(sent.status).toBe(202);
    // the demo entry opens breakers for 10 s, so a person watches one recover within a minute
    await fetch(`${url}/api/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'email', failureRate: 1 }),
    });
    // the outbox answers for the provider (202 queued) while the breaker trips and stays open
    let email: { state: string; retryAfterMs?: number } | undefined;
    for (let i = 0; i < 4 && email?.state !== 'open'; i++) {
      const response = await fetch(`${url}/api/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'ada@example.com', subject: 'hi', text: 'x' }),
      });
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ queued: true });
      const list = (await (await fetch(`${url}/api/breakers`)).json()) as { name: string; state: string }[];
      email = list.find((b) => b.name === 'email:smtp');
    }
    expect(email?.state).toBe('open');
    expect(email?.retryAfterMs).toBeGreaterThan(5_000);
    expect(email?.retryAfterMs).toBeLessThanOrEqual(10_000);
    // queued mail is kept in SQLite under the working directory by default
    if (sqliteLoads) expect(existsSync(join(cwd, '.tracks-outbox', 'outbox.db'))).toBe(true);
    // in a folder that keeps itself out of git
    expect(readFileSync(join(cwd, '.tracks-outbox', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const started = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
