import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, startDemo } from './helpers.js';

// The factory's other providers, reached through the standard AWS environment
// (AWS_ENDPOINT_URL_SES / _SNS / _S3) on a local stand-in that speaks just enough of each wire
// protocol; and failover to a second email provider with its own breaker.

interface Received {
  method: string;
  url: string;
  body: string;
}

describe('AWS providers from the standard environment', () => {
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];
  const objects = new Map<string, { body: Buffer; type: string }>();

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await read(req);
      received.push({ method: req.method ?? '', url: req.url ?? '', body: body.toString('utf8') });
      const text = body.toString('utf8');
      if (req.url === '/' && text.includes('Action=SendEmail')) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult><MessageId>ses-message-1</MessageId></SendEmailResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></SendEmailResponse>',
        );
        return;
      }
      if (req.url === '/' && text.includes('Action=Publish')) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>sns-message-1</MessageId></PublishResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></PublishResponse>',
        );
        return;
      }
      // S3, path style: /<bucket>/<key>
      const key = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
      if (req.method === 'PUT') {
        objects.set(key, { body, type: req.headers['content-type'] ?? 'application/octet-stream' });
        res.writeHead(200, { etag: '"etag-1"' });
        res.end();
      } else if (req.method === 'GET' || req.method === 'HEAD') {
        const object = objects.get(key);
        if (object === undefined) {
          res.writeHead(404, { 'content-type': 'application/xml' });
          res.end(
            req.method === 'HEAD'
              ? undefined
              : '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>',
          );
          return;
        }
        res.writeHead(200, {
          'content-type': object.type,
          'content-length': object.body.length,
          etag: '"etag-1"',
          'last-modified': new Date(0).toUTCString(),
        });
        res.end(req.method === 'HEAD' ? undefined : object.body);
      } else if (req.method === 'DELETE') {
        objects.delete(key);
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(400);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the SDKs read these from the process environment themselves, as they would in production
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_ENDPOINT_URL_SES', endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', endpoint);
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends email through SES, SMS through SNS and files through S3, each with its own breaker', async () => {
    const demo = await startDemo({
      EMAIL_PROVIDER: 'ses',
      SMS_PROVIDER: 'sns',
      STORAGE_PROVIDER: 's3',
      S3_BUCKET: 'demo-bucket',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      OTP_SECRET: 'a-test-secret-of-32-characters!!',
    });
    try {
      expect(demo.app.smtpSink).toBeUndefined();
      const breakers = await call(demo.url, 'GET', '/api/breakers');
      expect(breakers.body.map((b: { name: string }) => b.name)).toEqual([
        'email:ses',
        'sms:sns',
        'storage:s3',
      ]);

      expect(
        await call(demo.url, 'POST', '/api/email', { to: 'ada@example.com', subject: 'via SES', text: 'hi' }),
      ).toMatchObject({ status: 202, body: { provider: 'ses', messageId: 'ses-message-1' } });
      expect(received.some((r) => r.body.includes('Action=SendEmail') && r.body.includes('via%20SES'))).toBe(
        true,
      );

      expect(await call(demo.url, 'POST', '/api/sms', { to: '+14155550123', body: 'via SNS' })).toMatchObject(
        {
          status: 202,
          body: { provider: 'sns', messageId: 'sns-message-1', segments: 1 },
        },
      );
      expect(await call(demo.url, 'POST', '/api/otp', { phone: '+14155550123' })).toMatchObject({
        status: 202,
        body: { provider: 'sns' },
      });

      const put = await call(demo.url, 'PUT', '/api/files/notes/a.txt', 'hello s3', {
        'content-type': 'text/plain',
      });
      expect(put).toMatchObject({ status: 201, body: { key: 'notes/a.txt', size: 8 } });
      expect(objects.get('/demo-bucket/notes/a.txt')?.body.toString()).toBe('hello s3');
      const get = await fetch(`${demo.url}/api/files/notes/a.txt`);
      expect(get.headers.get('content-type')).toBe('text/plain');
      expect(await get.text()).toBe('hello s3');
      expect((await call(demo.url, 'DELETE', '/api/files/notes/a.txt')).status).toBe(204);
      expect((await call(demo.url, 'GET', '/api/files/notes/a.txt')).status).toBe(404);
      expect(demo.logText()).not.toContain('wJalrXUtnFEMI');
    } finally {
      await demo.close();
    }
  });
});

describe('SendGrid and Twilio from configuration', () => {
  it('builds their adapters and breakers without calling out', async () => {
    const demo = await startDemo({
      EMAIL_PROVIDER: 'sendgrid',
      SENDGRID_API_KEY: 'SG.not-a-real-key-but-long-enough',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'not-a-real-token-0123456789abcdef',
      TWILIO_FROM: '+15005550006',
      TWILIO_VERIFY_SERVICE_SID: `VA${'0'.repeat(32)}`,
    });
    try {
      const names = (await call(demo.url, 'GET', '/api/breakers')).body.map((b: { name: string }) => b.name);
      expect(names).toEqual(['email:sendgrid', 'sms:twilio', 'storage:fs']);
      // validation runs before any provider call: no request leaves the machine
      expect(await call(demo.url, 'POST', '/api/sms', { to: 'nope', body: 'x' })).toMatchObject({
        status: 400,
        body: { field: 'to' },
      });
      expect(demo.logText()).not.toContain('not-a-real-token');
      expect(demo.logText()).not.toContain('SG.not-a-real-key');
    } finally {
      await demo.close();
    }
  });
});

describe('email failover', () => {
  it('moves to the fallback provider while the primary fails, each provider with its own breaker', async () => {
    const demo = await startDemo({ EMAIL_FALLBACK_PROVIDER: 'memory' });
    try {
      const names = (await call(demo.url, 'GET', '/api/breakers')).body.map((b: { name: string }) => b.name);
      expect(names).toEqual(['email:smtp', 'email:memory', 'sms:log', 'storage:fs']);
      expect(
        await call(demo.url, 'POST', '/api/email', { to: 'a@example.com', subject: 's', text: 't' }),
      ).toMatchObject({
        status: 202,
        body: { provider: 'smtp' },
      });
      await call(demo.url, 'POST', '/api/faults', { service: 'email', failureRate: 1 });
      for (let i = 0; i < 4; i++) {
        expect(
          await call(demo.url, 'POST', '/api/email', { to: 'a@example.com', subject: `s${i}`, text: 't' }),
        ).toMatchObject({ status: 202, body: { provider: 'memory' } });
      }
      const breakers = (await call(demo.url, 'GET', '/api/breakers')).body;
      expect(breakers.find((b: { name: string }) => b.name === 'email:smtp').state).toBe('open');
      expect(breakers.find((b: { name: string }) => b.name === 'email:memory').state).toBe('closed');
    } finally {
      await demo.close();
    }
  });
});

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
