import { isProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { InvalidMessageError, isInvalidMessageError } from './errors.js';
import type { EmailMessage } from './types.js';
import { estimateEncodedSize, validateEmailMessage } from './validate.js';

const ok: EmailMessage = {
  from: 'Sender <sender@example.com>',
  to: ['rita@example.com'],
  subject: 'Hello',
  text: 'Hi',
};

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(isInvalidMessageError(error)).toBe(true);
    expect(isProviderError(error)).toBe(true);
    const e = error as InvalidMessageError;
    expect(e).toBeInstanceOf(InvalidMessageError);
    expect(e.kind).toBe('invalid');
    expect(e.scope).toBe('message');
    expect(e.retryable).toBe(false);
    return e.field;
  }
  return undefined;
}

const check = (msg: Record<string, unknown>, limits?: { maxRecipients?: number; maxMessageBytes?: number }) =>
  fieldOf(() => validateEmailMessage({ ...ok, ...msg } as EmailMessage, limits ? { limits } : {}));

describe('validateEmailMessage', () => {
  it('accepts a minimal message and display names', () => {
    expect(check({})).toBeUndefined();
    expect(
      check({ to: ['"Example, Ann" <ann@example.com>', 'Zoë Ünïcode <zoe@example.com>'] }),
    ).toBeUndefined();
    expect(check({ html: '<p>x</p>', text: undefined })).toBeUndefined();
  });

  it('accepts localhost, the reserved single-label name development sinks use', () => {
    expect(check({ from: 'tracks@localhost', to: ['Ada <ada@localhost>'] })).toBeUndefined();
    expect(check({ to: ['ada@localhost.'] })).toBe('to[0]');
  });

  it('accepts internationalised domains and refuses non-ASCII local parts', () => {
    expect(check({ to: ['José <jose@exämple.de>'] })).toBeUndefined();
    expect(check({ to: ['zoë@example.com'] })).toBe('to[0]');
  });

  it.each([
    ['a bare word', 'rita'],
    ['a missing domain', 'rita@'],
    ['a domain without a dot', 'rita@gmail'],
    ['a double dot', 'ri..ta@example.com'],
    ['a list in one entry', 'a@example.com, b@example.com'],
    ['a group', 'team: a@example.com;'],
    ['trailing junk', 'Rita <rita@example.com> junk'],
    ['a quoted local part', '"r i t a"@example.com'],
    ['a domain literal', 'rita@[127.0.0.1]'],
    ['a hyphen-led label', 'rita@-example.com'],
    ['an over-long local part', `${'r'.repeat(65)}@example.com`],
    ['CRLF injection', 'rita@example.com\r\nBcc: victim@example.com'],
    ['a bare LF', 'Rita\n <rita@example.com>'],
  ])('refuses %s', (_label, address) => {
    expect(check({ to: [address] })).toBe('to[0]');
  });

  it('names the field at fault for from, replyTo, cc and bcc', () => {
    expect(check({ from: 'nope' })).toBe('from');
    expect(check({ replyTo: 'x@y.com\nBcc: z@z.com' })).toBe('replyTo');
    expect(check({ cc: ['ok@example.com', 'bad'] })).toBe('cc[1]');
    expect(check({ bcc: ['bad'] })).toBe('bcc[0]');
    expect(check({ to: 'rita@example.com' as unknown as string[] })).toBe('to');
  });

  it('requires a recipient and caps them at the limit', () => {
    expect(check({ to: [] })).toBe('to');
    expect(check({ to: [], bcc: ['only@example.com'] })).toBeUndefined();
    const many = Array.from({ length: 50 }, (_, i) => `r${i}@example.com`);
    expect(check({ to: many })).toBeUndefined();
    expect(check({ to: many.slice(0, 40), cc: many.slice(40), bcc: ['one-more@example.com'] })).toBe('to');
    expect(check({ to: many.slice(0, 10) }, { maxRecipients: 5 })).toBe('to');
  });

  it('refuses CR or LF in the subject', () => {
    expect(check({ subject: 'Hi\r\nBcc: x@example.com' })).toBe('subject');
    expect(check({ subject: 'Hi\nthere' })).toBe('subject');
    expect(check({ subject: 'Grüße ✓' })).toBeUndefined();
  });

  it('requires html or text', () => {
    expect(check({ text: undefined })).toBe('text');
    expect(check({ text: '', html: '' })).toBe('text');
    expect(check({ html: 42 as unknown as string })).toBe('html');
  });

  it('checks header names, values and the protected list', () => {
    expect(check({ headers: { 'X-Campaign': 'spring' } })).toBeUndefined();
    expect(check({ headers: { 'X-Bad': 'a\r\nBcc: victim@example.com' } })).toBe('headers.X-Bad');
    expect(check({ headers: { 'X-Bad': 'a\nb' } })).toBe('headers.X-Bad');
    expect(check({ headers: { 'X Bad': 'a' } })).toBe('headers.X Bad');
    expect(check({ headers: { 'X:Bad': 'a' } })).toBe('headers.X:Bad');
    expect(check({ headers: { '': 'a' } })).toBe('headers.');
    expect(check({ headers: { 'X-Injected\r\nBcc': 'a' } })).toBe('headers.X-Injected\\n\\nBcc');
    for (const name of ['From', 'to', 'CC', 'Bcc', 'Subject', 'Content-Type', 'MIME-Version', 'Reply-To']) {
      expect(check({ headers: { [name]: 'x@example.com' } })).toBe(`headers.${name}`);
    }
    expect(check({ headers: { 'X-A': '1', 'x-a': '2' } })).toBe('headers.x-a');
  });

  it('checks attachments: filename, content type, content id and content', () => {
    const att = { filename: 'a.txt', contentType: 'text/plain', content: 'hi' };
    expect(check({ attachments: [att] })).toBeUndefined();
    expect(check({ attachments: [{ ...att, filename: 'a.txt\r\nContent-Type: text/html' }] })).toBe(
      'attachments[0].filename',
    );
    expect(check({ attachments: [{ ...att, filename: '../../etc/passwd' }] })).toBe(
      'attachments[0].filename',
    );
    expect(check({ attachments: [{ ...att, filename: ' ' }] })).toBe('attachments[0].filename');
    expect(check({ attachments: [att, { ...att, contentType: 'text/plain\r\nX: y' }] })).toBe(
      'attachments[1].contentType',
    );
    expect(check({ attachments: [{ ...att, contentType: 'plain' }] })).toBe('attachments[0].contentType');
    expect(check({ attachments: [{ ...att, contentId: '<logo>' }] })).toBe('attachments[0].contentId');
    expect(check({ attachments: [{ ...att, content: 42 as unknown as string }] })).toBe(
      'attachments[0].content',
    );
  });

  it('refuses an attachment that makes the encoded message larger than maxMessageBytes', () => {
    // 7.6 MiB of bytes is just over 10 MiB once base64 with line breaks
    const big = new Uint8Array(7.6 * 1024 * 1024);
    expect(
      check({
        attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: big }],
      }),
    ).toBe('attachments[0].content');
    const fits = new Uint8Array(7 * 1024 * 1024);
    expect(
      check({
        attachments: [{ filename: 'ok.bin', contentType: 'application/octet-stream', content: fits }],
      }),
    ).toBeUndefined();
    expect(check({ text: 'x'.repeat(2000) }, { maxMessageBytes: 2000 })).toBe('text');
  });

  it('checks tags and the idempotency key', () => {
    expect(check({ tags: { campaign: 'spring' }, idempotencyKey: 'order-42:welcome' })).toBeUndefined();
    expect(check({ tags: { campaign: 'a\nb' } })).toBe('tags.campaign');
    expect(check({ idempotencyKey: 'has space' })).toBe('idempotencyKey');
    expect(check({ idempotencyKey: 'k\r\n' })).toBe('idempotencyKey');
    expect(check({ idempotencyKey: 'k'.repeat(257) })).toBe('idempotencyKey');
  });

  it('names the provider whose limits it applied, and does not repeat the bad value', () => {
    try {
      validateEmailMessage(
        { ...ok, to: ['secret-person@example.com\r\nBcc: x@example.com'] },
        { provider: 'ses' },
      );
      expect.unreachable();
    } catch (error) {
      const e = error as InvalidMessageError;
      expect(e.provider).toBe('ses');
      expect(e.name).toBe('InvalidMessageError');
      expect(e.message).toContain('to[0]');
      expect(e.message).not.toContain('secret-person');
      expect(JSON.stringify(e)).toContain('"field":"to[0]"');
    }
  });
});

describe('estimateEncodedSize', () => {
  it('counts attachments at their base64 size', () => {
    const small = estimateEncodedSize(ok);
    const withAttachment = estimateEncodedSize({
      ...ok,
      attachments: [
        { filename: 'a.bin', contentType: 'application/octet-stream', content: new Uint8Array(3000) },
      ],
    });
    // 3000 bytes -> 4000 base64 characters + 53 line breaks
    expect(withAttachment - small).toBeGreaterThanOrEqual(4000 + 106);
  });
});
