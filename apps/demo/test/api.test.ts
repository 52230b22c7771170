import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, drain, type ManualClock, manualClock, type RunningDemo, startDemo } from './helpers.js';

// The HTTP API against the real server on an ephemeral port, with the embedded providers:
// SMTP to the in-process sink, SMS to the log adapter, files under a temp folder.

describe('demo API', () => {
  let demo: RunningDemo;
  let clock: ManualClock;
  let url: string;

  beforeAll(async () => {
    clock = manualClock();
    // presets' own open periods (120 s for email): the test moves the breakers' clock instead of waiting
    demo = await startDemo({}, { now: clock.now });
    url = demo.url;
  });
  afterAll(async () => {
    await demo?.close();
  });

  describe('health', () => {
    it('answers /healthz and /readyz', async () => {
      expect(await call(url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(await call(url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    });

    it('serves the dashboard, its script and its styles', async () => {
      const page = await fetch(`${url}/`);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<title>tracks demo');
      expect((await fetch(`${url}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
      expect((await fetch(`${url}/countdown.js`)).headers.get('content-type')).toMatch(/javascript/);
      expect((await fetch(`${url}/style.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    });

    it('answers unknown routes with a JSON 404', async () => {
      expect(await call(url, 'GET', '/nope')).toMatchObject({
        status: 404,
        body: { error: 'no route for GET /nope' },
      });
    });

    it('describes what is wired', async () => {
      const { body } = await call(url, 'GET', '/api/info');
      expect(body).toMatchObject({
        services: {
          email: { wired: true, providers: ['smtp'] },
          sms: { wired: true, providers: ['log'] },
          storage: { wired: true, providers: ['fs'] },
        },
        inbox: true,
        faultsEnabled: true,
      });
    });
  });

  describe('POST /api/email', () => {
    it('sends through SMTP to the embedded sink: 202 and the mail in the inbox', async () => {
      const response = await call(url, 'POST', '/api/email', {
        to: 'ada@example.com',
        subject: 'Hello ✓',
        text: 'hi',
        html: '<p>hi</p>',
      });
      expect(response.status).toBe(202);
      expect(response.body).toEqual({ provider: 'smtp', messageId: expect.any(String) });
      const inbox = await call(url, 'GET', '/api/inbox');
      expect(inbox.status).toBe(200);
      expect(inbox.body[0]).toMatchObject({
        subject: 'Hello ✓',
        to: ['ada@example.com'],
        from: 'tracks@localhost',
        html: '<p>hi</p>',
      });
    });

    it.each([
      ['to', { subject: 's', text: 't' }],
      ['to', { to: [], subject: 's', text: 't' }],
      ['to[0]', { to: 'not an address', subject: 's', text: 't' }],
      ['subject', { to: 'a@example.com', subject: 'x\r\nBcc: victim@example.com', text: 't' }],
      ['text', { to: 'a@example.com', subject: 's' }],
      ['subject', { to: 'a@example.com', subject: 5, text: 't' }],
      ['cc', { to: 'a@example.com', subject: 's', text: 't', cc: 'x@example.com' }],
      ['to', { to: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`), subject: 's', text: 't' }],
    ])('refuses invalid input with 400 naming the field %s', async (field, body) => {
      const response = await call(url, 'POST', '/api/email', body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: expect.any(String), field });
    });

    it.each([
      [{ subject: 's', text: 't' }, 'to is required', 'to'],
      [{ to: 5, subject: 's', text: 't' }, 'to must be an address or a list of addresses', 'to'],
      [{ to: 'a@example.com', text: 't' }, 'subject is required', 'subject'],
      [{ to: 'a@example.com', subject: 's', text: 7 }, 'text must be a string', 'text'],
    ])('words the problem of %j plainly', async (body, error, field) => {
      expect(await call(url, 'POST', '/api/email', body)).toMatchObject({
        status: 400,
        body: { error, field },
      });
    });

    it('refuses a body that is not JSON, and one over the size limit', async () => {
      const bad = await call(url, 'POST', '/api/email', '{"to":', { 'content-type': 'application/json' });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: expect.any(String) });
      const big = await call(url, 'POST', '/api/email', {
        to: 'a@example.com',
        subject: 's',
        text: 'x'.repeat(300_000),
      });
      expect(big.status).toBe(413);
      expect(big.body).toEqual({
        error:
          'the request body is too large: the limit is 262144 bytes (256 KiB, set by JSON_BODY_LIMIT_BYTES)',
      });
      // a body that is not JSON is told what to send
      const form = await call(url, 'POST', '/api/email', 'to=a@example.com', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(form).toMatchObject({
        status: 415,
        body: { error: 'send the request body as JSON, with the header Content-Type: application/json' },
      });
      const text = await call(url, 'POST', '/api/email', 'to=a@example.com', {
        'content-type': 'text/plain',
      });
      const asJson =
        'the request body must be a JSON object, sent with the header Content-Type: application/json';
      expect(text).toMatchObject({ status: 400, body: { error: asJson } });
      // no body at all
      expect(await call(url, 'POST', '/api/email')).toMatchObject({ status: 400, body: { error: asJson } });
      const array = await call(url, 'POST', '/api/email', [1, 2]);
      expect(array).toMatchObject({ status: 400, body: { error: 'the request body must be a JSON object' } });
    });
  });

  describe('POST /api/sms and OTP', () => {
    it('sends an SMS through the log adapter', async () => {
      const response = await call(url, 'POST', '/api/sms', { to: '+14155550123', body: 'hello' });
      expect(response.status).toBe(202);
      expect(response.body).toEqual({ provider: 'log', messageId: expect.any(String), segments: 1 });
      expect(demo.logText()).toContain('+1******0123');
    });

    it.each([
      ['to', { to: '12', body: 'hi' }],
      ['body', { to: '+14155550123', body: 'bell\u0007' }],
      ['body', { to: '+14155550123', body: 'x'.repeat(2000) }],
      ['to', { body: 'hi' }],
    ])('refuses invalid input with 400 naming the field %s', async (field, body) => {
      const response = await call(url, 'POST', '/api/sms', body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: expect.any(String), field });
    });

    it('issues a code, verifies it once, and rate-limits a resend with 429 and Retry-After', async () => {
      const phone = '+14155550199';
      const sent = await call(url, 'POST', '/api/otp', { phone });
      expect(sent.status).toBe(202);
      expect(sent.body).toEqual({ provider: 'log', expiresAt: expect.any(String) });
      expect(Date.parse(sent.body.expiresAt)).toBeGreaterThan(Date.now());
      const code = /verification code is (\d+)/.exec(demo.logText())?.[1];
      expect(code).toMatch(/^\d{6}$/);

      const again = await call(url, 'POST', '/api/otp', { phone });
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(again.body).toMatchObject({ error: expect.any(String) });

      const wrong = code === '000000' ? '111111' : '000000';
      expect(await call(url, 'POST', '/api/otp/verify', { phone, code: wrong })).toMatchObject({
        status: 200,
        body: { valid: false, reason: 'mismatch' },
      });
      expect(await call(url, 'POST', '/api/otp/verify', { phone, code })).toMatchObject({
        status: 200,
        body: { valid: true },
      });
      expect(await call(url, 'POST', '/api/otp/verify', { phone, code })).toMatchObject({
        status: 200,
        body: { valid: false, reason: 'expired' },
      });
    });

    it('refuses bad OTP input with 400', async () => {
      expect(await call(url, 'POST', '/api/otp', { phone: 'call me' })).toMatchObject({
        status: 400,
        body: { field: 'phone' },
      });
      expect(
        await call(url, 'POST', '/api/otp/verify', { phone: '+14155550123', code: 'abc' }),
      ).toMatchObject({
        status: 400,
        body: { field: 'code' },
      });
    });
  });

  describe('files', () => {
    it('stores, reads back with its content type, deletes, then 404s', async () => {
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const put = await call(url, 'PUT', '/api/files/reports/a.bin', bytes, {
        'content-type': 'application/x-demo',
      });
      expect(put.status).toBe(201);
      expect(put.body).toMatchObject({ key: 'reports/a.bin', size: 5 });
      expect(put.headers.get('location')).toBe('/api/files/reports/a.bin');

      const get = await fetch(`${url}/api/files/reports/a.bin`);
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe('application/x-demo');
      // a quoted entity-tag (RFC 9110), the same one the upload answered
      expect(get.headers.get('etag')).toMatch(/^"[^"]+"$/);
      if (put.body.etag !== undefined)
        expect(get.headers.get('etag')).toContain(put.body.etag.replaceAll('"', ''));
      expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);

      expect((await call(url, 'DELETE', '/api/files/reports/a.bin')).status).toBe(204);
      expect(await call(url, 'GET', '/api/files/reports/a.bin')).toMatchObject({
        status: 404,
        body: { error: 'no file at reports/a.bin', field: 'key' },
      });
    });

    it('keeps JSON bodies as bytes', async () => {
      const put = await call(url, 'PUT', '/api/files/data.json', '{"a":1}', {
        'content-type': 'application/json',
      });
      expect(put.status).toBe(201);
      const get = await fetch(`${url}/api/files/data.json`);
      expect(await get.text()).toBe('{"a":1}');
      expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('refuses keys that escape or are malformed with 400 naming the key', async () => {
      // node:http sends the path as written; fetch would normalise the dot segments away
      for (const path of [
        '/api/files/a/../../etc/passwd',
        '/api/files/a%2F..%2F..%2Fx',
        '/api/files/%01ctl',
      ]) {
        const response = await rawPut(url, path, 'x');
        expect(response.status, path).toBe(400);
        expect(JSON.parse(response.text), path).toMatchObject({ field: 'key' });
      }
    });

    it('refuses a file over the upload limit with 413', async () => {
      const small = await startDemo({ FILE_BODY_LIMIT_BYTES: '1024' });
      try {
        const response = await call(small.url, 'PUT', '/api/files/big.bin', new Uint8Array(2048), {
          'content-type': 'application/octet-stream',
        });
        expect(response.status).toBe(413);
        expect(response.body).toEqual({
          error:
            'the request body is too large: the limit is 1024 bytes (1 KiB, set by FILE_BODY_LIMIT_BYTES)',
        });
      } finally {
        await small.close();
      }
    });
  });

  describe('faults and the email breaker', () => {
    it('validates fault settings', async () => {
      expect(await call(url, 'POST', '/api/faults', { service: 'fax', failureRate: 1 })).toMatchObject({
        status: 400,
        body: { field: 'service' },
      });
      expect(await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 2 })).toMatchObject({
        status: 400,
        body: { field: 'failureRate' },
      });
      expect(
        await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0, provider: 'ses' }),
      ).toMatchObject({ status: 400, body: { field: 'provider' } });
    });

    it('clears injected faults with DELETE, for one service or all', async () => {
      await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0.5 });
      await call(url, 'POST', '/api/faults', { service: 'sms', failureRate: 0.5, latencyMs: 10 });
      const left = await call(url, 'DELETE', '/api/faults/email');
      expect(left.status).toBe(200);
      expect(left.body).toEqual([
        { service: 'sms', provider: 'log', failureRate: 0.5, latencyMs: 10, hang: false },
      ]);
      expect(await call(url, 'GET', '/api/faults')).toMatchObject({ body: left.body });
      expect(await call(url, 'DELETE', '/api/faults/fax')).toMatchObject({
        status: 400,
        body: { field: 'service' },
      });
      expect(await call(url, 'DELETE', '/api/faults')).toMatchObject({ status: 200, body: [] });
      expect((await call(url, 'GET', '/api/faults')).body).toEqual([]);
    });

    it('queues mail while the provider fails and the breaker is open (202 queued), and delivers it after recovery', async () => {
      await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 1 });
      const ids: string[] = [];
      let state = 'closed';
      for (let i = 0; i < 8 && state !== 'open'; i++) {
        const queued = await call(url, 'POST', '/api/email', {
          to: 'ada@example.com',
          subject: `queued ${i}`,
          text: 't',
        });
        expect(queued.status).toBe(202);
        expect(queued.body).toEqual({ queued: true, id: expect.any(String) });
        expect(queued.headers.get('retry-after')).toBeNull();
        ids.push(queued.body.id);
        state = (await call(url, 'GET', '/api/breakers')).body.find(
          (b: { name: string }) => b.name === 'email:smtp',
        ).state;
      }
      expect(state).toBe('open');
      // sent while open: nothing reaches the provider, the message is stored at once
      const whileOpen = await call(url, 'POST', '/api/email', {
        to: 'ada@example.com',
        subject: 'queued while open',
        text: 't',
      });
      expect(whileOpen).toMatchObject({ status: 202, body: { queued: true } });
      ids.push(whileOpen.body.id);
      // invalid input is still refused at once, not queued
      expect(
        await call(url, 'POST', '/api/email', { to: 'not an address', subject: 's', text: 't' }),
      ).toMatchObject({ status: 400, body: { field: 'to[0]' } });

      const queue = await call(url, 'GET', '/api/outbox');
      expect(queue.status).toBe(200);
      expect(queue.body.stats.pending + queue.body.stats.inflight).toBe(ids.length);
      expect(queue.body.dead).toEqual([]);
      expect(JSON.stringify(queue.body)).not.toContain('ada@example.com');

      // recovery: the open period (120 s) passes on the injected clock; the worker's deliveries
      // are the half-open probes
      await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0 });
      clock.advance(120_000);
      await drain(demo, clock, ids);
      const subjects = (await call(url, 'GET', '/api/inbox')).body.map((m: { subject: string }) => m.subject);
      expect(subjects).toEqual(expect.arrayContaining(['queued 0', 'queued while open']));
      const after = await call(url, 'GET', '/api/outbox');
      expect(after.body.stats).toMatchObject({ pending: 0, inflight: 0, dead: 0 });
      expect(after.body.stats.delivered).toBeGreaterThanOrEqual(ids.length);
      // direct sends go through again; the fifth success in half-open closes the breaker
      let email = 'half-open';
      for (let i = 0; i < 5 && email !== 'closed'; i++) {
        const sent = await call(url, 'POST', '/api/email', {
          to: 'ada@example.com',
          subject: `after ${i}`,
          text: 't',
        });
        expect(sent).toMatchObject({ status: 202, body: { provider: 'smtp' } });
        email = (await call(url, 'GET', '/api/breakers')).body.find(
          (b: { name: string }) => b.name === 'email:smtp',
        ).state;
      }
      expect(email).toBe('closed');
    });

    it('holds calls under `hang` until the provider timeout, then answers 503', async () => {
      const hung = await startDemo({ PROVIDER_TIMEOUT_MS: '50', RETRY_MAX_ELAPSED_MS: '100' });
      try {
        await call(hung.url, 'POST', '/api/faults', { service: 'email', failureRate: 0, hang: true });
        const started = performance.now();
        const response = await call(hung.url, 'POST', '/api/email', {
          to: 'a@example.com',
          subject: 's',
          text: 't',
        });
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).not.toBeNull();
        expect(performance.now() - started).toBeLessThan(1000);
        expect(hung.app.faults.held).toBe(0);
        // liveness and readiness are untouched by a provider outage
        expect((await call(hung.url, 'GET', '/readyz')).status).toBe(200);
      } finally {
        await hung.close();
      }
    });
  });

  describe('GET /metrics', () => {
    it('exposes the breaker state and request families per provider', async () => {
      const response = await fetch(`${url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/^circuit_breaker_state\{service="email:smtp"\} 0$/m);
      expect(text).toMatch(/^circuit_breaker_state\{service="sms:log"\} 0$/m);
      expect(text).toMatch(/^circuit_breaker_state\{service="storage:fs"\} 0$/m);
      expect(text).toMatch(
        /^circuit_breaker_requests_total\{service="email:smtp",result="success"\} [1-9]\d*$/m,
      );
      expect(text).toMatch(
        /^circuit_breaker_requests_total\{service="email:smtp",result="failure"\} [1-9]\d*$/m,
      );
      expect(text).toMatch(
        /^circuit_breaker_requests_total\{service="email:smtp",result="rejected_open"\} [1-9]\d*$/m,
      );
      expect(text).toMatch(
        /^circuit_breaker_state_changes_total\{service="email:smtp",from="closed",to="open"\} 1$/m,
      );
      expect(text).toMatch(/^# HELP retry_attempts_total /m);
      // the outbox: job counts at scrape time, deliveries from its events
      expect(text).toMatch(/^outbox_jobs\{queue="email",state="pending"\} 0$/m);
      expect(text).toMatch(/^outbox_jobs\{queue="email",state="delivered"\} [1-9]\d*$/m);
      expect(text).toMatch(/^outbox_deliveries_total\{queue="email",outcome="delivered"\} [1-9]\d*$/m);
      expect(text).toMatch(/^outbox_deliveries_total\{queue="email",outcome="dead"\} 0$/m);
      // no user input in label values
      expect(text).not.toContain('ada@example.com');
    });
  });

  describe('SMS and storage outages', () => {
    it('opens sms:log after 3 failures, keeps verifying codes already sent, and recovers', async () => {
      const phone = '+14155550177';
      expect((await call(url, 'POST', '/api/otp', { phone })).status).toBe(202);
      const code = [...demo.logText().matchAll(/verification code is (\d+)/g)].at(-1)?.[1];

      await call(url, 'POST', '/api/faults', { service: 'sms', failureRate: 1 });
      const failing = await call(url, 'POST', '/api/sms', { to: '+14155550123', body: 'hi' });
      expect(failing.status).toBe(503);
      const open = await call(url, 'POST', '/api/sms', { to: '+14155550123', body: 'hi' });
      expect(open.status).toBe(503);
      expect(open.body.error).toMatch(/sms:log circuit breaker is open/);
      // the sms preset stays open 60 s on the injected clock
      expect(open.headers.get('retry-after')).toBe('60');
      expect((await call(url, 'POST', '/api/otp', { phone: '+14155550178' })).status).toBe(503);
      // codes are checked locally: an SMS outage does not block logins with codes already sent
      expect(await call(url, 'POST', '/api/otp/verify', { phone, code })).toMatchObject({
        status: 200,
        body: { valid: true },
      });

      await call(url, 'POST', '/api/faults', { service: 'sms', failureRate: 0 });
      clock.advance(60_000);
      for (let i = 0; i < 3; i++) {
        expect((await call(url, 'POST', '/api/sms', { to: '+14155550123', body: `probe ${i}` })).status).toBe(
          202,
        );
      }
      const breakers = (await call(url, 'GET', '/api/breakers')).body;
      expect(breakers.find((b: { name: string }) => b.name === 'sms:log').state).toBe('closed');
    });

    it('opens storage:fs at half of 10 requests failing and answers 503 for reads and writes', async () => {
      await call(url, 'POST', '/api/faults', { service: 'storage', failureRate: 1 });
      let last = await call(url, 'PUT', '/api/files/outage.txt', 'x', { 'content-type': 'text/plain' });
      for (let i = 0; i < 6 && !/is open/.test(last.body.error); i++) {
        expect(last.status).toBe(503);
        last = await call(url, 'GET', '/api/files/outage.txt');
      }
      expect(last.status).toBe(503);
      expect(last.body.error).toMatch(/storage:fs circuit breaker is open/);
      expect(last.headers.get('retry-after')).toBe('180');
      await call(url, 'POST', '/api/faults', { service: 'storage', failureRate: 0 });
      expect((await call(url, 'GET', '/api/breakers')).body.map((b: { state: string }) => b.state)).toEqual([
        'closed',
        'closed',
        'open',
      ]);
    });
  });

  describe('fault injection in production', () => {
    it('is refused with 403', async () => {
      const prod = await startDemo({}, { patch: (config) => ({ ...config, nodeEnv: 'production' }) });
      try {
        const response = await call(prod.url, 'POST', '/api/faults', { service: 'email', failureRate: 1 });
        expect(response).toMatchObject({
          status: 403,
          body: { error: 'fault injection is disabled when NODE_ENV=production' },
        });
        expect((await call(prod.url, 'DELETE', '/api/faults')).status).toBe(403);
        expect((await call(prod.url, 'DELETE', '/api/faults/email')).status).toBe(403);
      } finally {
        await prod.close();
      }
    });
  });
});

describe('demo API with EMAIL_QUEUE=off', () => {
  let demo: RunningDemo;
  let clock: ManualClock;
  let url: string;

  beforeAll(async () => {
    clock = manualClock();
    demo = await startDemo({ EMAIL_QUEUE: 'off' }, { now: clock.now });
    url = demo.url;
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('has no outbox', async () => {
    expect(await call(url, 'GET', '/api/outbox')).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/EMAIL_QUEUE=off/) },
    });
    expect((await call(url, 'GET', '/api/info')).body.outbox).toBeNull();
  });

  it('trips under 100 % failures, rejects with 503 and Retry-After, and recovers through half-open', async () => {
    const events = await openEventStream(url);
    try {
      const set = await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 1 });
      expect(set).toMatchObject({
        status: 200,
        body: { service: 'email', provider: 'smtp', failureRate: 1, latencyMs: 0, hang: false },
      });
      const mail = { to: 'ada@example.com', subject: 'during the outage', text: 't' };

      const failing = await call(url, 'POST', '/api/email', mail);
      expect(failing.status).toBe(503);
      expect(Number(failing.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(failing.body.error).toMatch(/injected fault/);

      let open = failing;
      for (let i = 0; i < 5 && !/circuit breaker is open|breaker .*is open/.test(open.body.error); i++) {
        open = await call(url, 'POST', '/api/email', mail);
        expect(open.status).toBe(503);
      }
      expect(open.body.error).toMatch(/email:smtp circuit breaker is open/);
      // the email preset stays open 120 s on the injected clock
      expect(Number(open.headers.get('retry-after'))).toBe(120);

      const breakers = await call(url, 'GET', '/api/breakers');
      const email = breakers.body.find((b: { name: string }) => b.name === 'email:smtp');
      expect(email).toMatchObject({
        service: 'email',
        provider: 'smtp',
        state: 'open',
        retryAfterMs: 120_000,
      });
      expect(email.counts).toMatchObject({ requests: 0 });

      await call(url, 'POST', '/api/faults', { service: 'email', failureRate: 0 });
      clock.advance(60_000);
      const later = await call(url, 'POST', '/api/email', mail);
      expect(later.status).toBe(503);
      expect(Number(later.headers.get('retry-after'))).toBe(60);

      clock.advance(60_000);
      const probing = await call(url, 'GET', '/api/breakers');
      expect(probing.body.find((b: { name: string }) => b.name === 'email:smtp')).toMatchObject({
        state: 'half-open',
      });
      for (let i = 0; i < 5; i++) {
        expect((await call(url, 'POST', '/api/email', { ...mail, subject: `probe ${i}` })).status).toBe(202);
      }
      const closed = await call(url, 'GET', '/api/breakers');
      expect(closed.body.find((b: { name: string }) => b.name === 'email:smtp')).toMatchObject({
        state: 'closed',
      });

      const transitions = await events.until((list) => list.filter((e) => e.event === 'state').length >= 3);
      expect(
        transitions.filter((e) => e.event === 'state').map((e) => [e.data.name, e.data.from, e.data.to]),
      ).toEqual([
        ['email:smtp', 'closed', 'open'],
        ['email:smtp', 'open', 'half-open'],
        ['email:smtp', 'half-open', 'closed'],
      ]);
      expect(transitions.some((e) => e.event === 'call' && e.data.outcome === 'failure')).toBe(true);
      expect(transitions.some((e) => e.event === 'call' && e.data.outcome === 'rejected')).toBe(true);

      const logged = demo.logs
        .filter((line) => line.breaker === 'email:smtp')
        .map((line) => [line.to, line.level]);
      expect(logged).toEqual([
        ['open', 50],
        ['half-open', 40],
        ['closed', 30],
      ]);
    } finally {
      events.close();
    }
  });
});

function rawPut(url: string, path: string, body: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: 'PUT', headers: { 'content-type': 'text/plain' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface StreamEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON
  data: any;
}

// Reads GET /api/events into a list; `until` waits (briefly) for a condition on what arrived.
async function openEventStream(url: string): Promise<{
  until(done: (events: StreamEvent[]) => boolean): Promise<StreamEvent[]>;
  close(): void;
}> {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, { signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: StreamEvent[] = [];
  let waiters: (() => void)[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters) wake();
        waiters = [];
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    async until(done) {
      const deadline = Date.now() + 2000;
      while (!done(events) && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return events;
    },
    close: () => controller.abort(),
  };
}
