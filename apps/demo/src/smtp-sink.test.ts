import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

describe('startSmtpSink', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({ capacity: 2, maxSizeBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await sink.close();
  });

  it('listens on an ephemeral loopback port', () => {
    expect(sink.host).toBe('127.0.0.1');
    expect(sink.port).toBeGreaterThan(0);
  });

  it('keeps what it receives, newest first, within its capacity', async () => {
    const transport = nodemailer.createTransport({
      host: sink.host,
      port: sink.port,
      secure: false,
      ignoreTLS: true,
    });
    try {
      for (const n of [1, 2, 3]) {
        await transport.sendMail({
          from: 'tracks@localhost',
          to: 'Ada <ada@example.com>',
          subject: `hello ${n} ✓`,
          text: `body ${n}`,
        });
      }
    } finally {
      transport.close();
    }
    const messages = sink.messages();
    expect(messages.map((m) => m.subject)).toEqual(['hello 3 ✓', 'hello 2 ✓']);
    expect(messages[0]).toMatchObject({
      to: ['ada@example.com'],
      text: 'body 3\n',
      from: 'tracks@localhost',
    });
    expect(messages[0]?.sizeBytes).toBeGreaterThan(0);
    expect(messages[0]?.messageId).toMatch(/^<.+>$/);
  });

  it('refuses a mail over its size limit', async () => {
    const transport = nodemailer.createTransport({
      host: sink.host,
      port: sink.port,
      secure: false,
      ignoreTLS: true,
    });
    try {
      await expect(
        transport.sendMail({
          from: 'a@localhost',
          to: 'b@example.com',
          subject: 'big',
          text: 'x'.repeat(100 * 1024),
        }),
      ).rejects.toMatchObject({ responseCode: 552 });
    } finally {
      transport.close();
    }
  });
});
