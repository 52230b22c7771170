import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { call, startDemo } from './helpers.js';

describe('graceful shutdown', () => {
  it('finishes requests in flight, ends event streams, then refuses connections', async () => {
    const demo = await startDemo();
    await call(demo.url, 'POST', '/api/faults', { service: 'email', failureRate: 0, latencyMs: 300 });
    const events = await fetch(`${demo.url}/api/events`);
    const stream = events.body!.getReader();
    const inFlight = call(demo.url, 'POST', '/api/email', {
      to: 'ada@example.com',
      subject: 'in flight',
      text: 't',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = demo.close();
    // the stream is ended by the server, not left hanging
    for (;;) {
      const { done } = await stream.read();
      if (done) break;
    }
    await expect(inFlight).resolves.toMatchObject({ status: 202, body: { provider: 'smtp' } });
    await closed;
    await expect(fetch(`${demo.url}/healthz`)).rejects.toThrow();
    expect(demo.app.smtpSink?.messages()[0]?.subject).toBe('in flight');
  });

  it('answers /readyz with 503 while stopping', async () => {
    const demo = await startDemo();
    await call(demo.url, 'POST', '/api/faults', { service: 'email', failureRate: 0, latencyMs: 200 });
    const inFlight = call(demo.url, 'POST', '/api/email', { to: 'ada@example.com', subject: 's', text: 't' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = demo.close();
    const ready = await demo.app.fastify.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    await inFlight;
    await closed;
  });
});

describe('secrets', () => {
  it('keeps the SMTP password out of every log line and error, even at debug level', async () => {
    const password = 'hunter2-very-secret-password';
    const smtp = new SMTPServer({
      authOptional: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (_auth, _session, callback) => callback(new Error('Invalid username or password')),
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const port = (smtp.server.address() as AddressInfo).port;
    const demo = await startDemo({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_USER: 'demo',
      SMTP_PASSWORD: password,
      OTP_SECRET: 'otp-secret-that-must-not-leak',
      LOG_LEVEL: 'debug',
    });
    try {
      expect(demo.app.smtpSink).toBeUndefined();
      expect(await call(demo.url, 'GET', '/api/inbox')).toMatchObject({ status: 404 });
      const response = await call(demo.url, 'POST', '/api/email', {
        to: 'ada@example.com',
        subject: 's',
        text: 't',
      });
      expect(response.status).toBe(503);
      expect(JSON.stringify(response.body)).not.toContain(password);
      expect(response.body.error).toMatch(/auth/);
      await call(demo.url, 'POST', '/api/otp', { phone: '+14155550100' });
      const logs = demo.logText();
      expect(logs).toContain('services configured');
      expect(logs).not.toContain(password);
      expect(logs).not.toContain('otp-secret-that-must-not-leak');
    } finally {
      await demo.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});
