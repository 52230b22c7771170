/**
 * `@tracks/email/testing`: the contract every email adapter passes. An adapter's
 * `contract.test.ts` starts its provider's local server and hands this suite a harness:
 *
 * ```ts
 * import { describeEmailAdapterContract } from '@tracks/email/testing';
 * describeEmailAdapterContract('smtp', smtpHarness());
 * ```
 *
 * Needs vitest (an optional peer of `@tracks/email`).
 * @module
 */

import type { ProviderError } from '@tracks/breaker';
import { isProviderError } from '@tracks/breaker';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmailAdapter, EmailMessage, SendResult } from './types.js';

/** A mailbox as the server saw it. */
export interface ReceivedAddress {
  /** `local@domain`, as the server received it (an IDN domain may arrive in Punycode). */
  address: string;
  /** The decoded display name, when there was one. */
  name?: string;
}

/** An attachment as the server saw it, decoded. */
export interface ReceivedAttachment {
  /** The decoded file name. */
  filename: string;
  /** The MIME type; parameters such as `; name=` may follow and are ignored by the suite. */
  contentType: string;
  /** The decoded bytes: the suite compares them with what was sent, byte for byte. */
  content: Uint8Array;
  /** The Content-ID, for inline attachments. */
  contentId?: string;
}

/**
 * One message as the local server received it, parsed (with `mailparser` for MIME, or from the
 * provider's API request): whatever the wire format, the harness reduces it to this.
 */
export interface ReceivedMessage {
  /** The From header's mailbox. */
  from: ReceivedAddress;
  /** The To header's mailboxes. */
  to: ReceivedAddress[];
  /** The Cc header's mailboxes. */
  cc: ReceivedAddress[];
  /**
   * Recipients that were to get the message without being in any header: for SMTP the
   * envelope's RCPT TO minus To and Cc, for an API the request's bcc list.
   */
  bcc: ReceivedAddress[];
  /** The Reply-To header's mailbox, when there was one. */
  replyTo?: ReceivedAddress;
  /** The decoded subject. */
  subject: string;
  /** The decoded text body (trailing whitespace is ignored by the suite). */
  text?: string;
  /** The decoded html body (trailing whitespace is ignored by the suite). */
  html?: string;
  /**
   * The message's headers (or the API request's custom headers), names lower-cased, values
   * decoded. The suite looks for the custom headers it sent and checks that no header reveals a bcc.
   */
  headers: Record<string, string>;
  /** The attachments, in order, decoded. */
  attachments: ReceivedAttachment[];
  /**
   * The id the server holds for the message: its `Message-ID` header (SMTP) or the id the server
   * put in its reply (an API). Angle brackets are ignored. When present, the suite checks that
   * the `SendResult.messageId` is this id.
   */
  messageId?: string;
}

/**
 * The local server behind the adapter under test, with fault controls. A fault applies to every
 * request from the moment it is set until the next {@link EmailAdapterHarness.setup}.
 */
export interface EmailTestServer {
  /**
   * Answer every send with the provider's throttling reply (HTTP 429 with `Retry-After`, SES
   * `Throttling`, SMTP 454). The adapter must reject with kind `throttled`; where the provider
   * says how long to wait ({@link EmailAdapterCapabilities.retryAfter}), with
   * `retryAfterMs ≈ retryAfterSeconds * 1000`.
   */
  throttle(retryAfterSeconds: number): void;
  /** Answer every send with a server error (HTTP 500/503, SES `ServiceUnavailable`, SMTP 421/451): kind `transient`. */
  fail5xx(): void;
  /** Refuse the adapter's credentials (HTTP 401/403, SES signature error, SMTP 535 to AUTH): kind `auth`. */
  badCredentials(): void;
  /**
   * Refuse this recipient permanently (SMTP 550 to its RCPT TO, SES `MessageRejected`, HTTP 400 naming it).
   * A message to it alone must fail with kind `permanent`, scope `message`.
   */
  rejectRecipient(address: string): void;
  /**
   * Accept the request and never answer (for SMTP: after DATA, so the message may have been
   * delivered). The adapter must reject with kind `timeout` once its own request timeout,
   * {@link EmailHarnessContext.timeoutMs}, has passed.
   */
  hang(): void;
  /**
   * Answer success without a message id (an HTTP 202 without `x-message-id`, an SES response
   * without `MessageId`). The adapter must reject with a non-retryable `ProviderError`: the
   * message may have gone out, but it cannot be tracked. Required unless
   * {@link EmailAdapterCapabilities.providerMessageId} is false.
   */
  missingMessageId?(): void;
  /** Every message the server accepted since the last setup, in order, parsed. */
  received(): ReceivedMessage[];
  /**
   * Send requests the server saw since the last setup, accepted or not: HTTP requests to the
   * send endpoint, or SMTP transactions (MAIL FROM commands). Connections and AUTH do not count.
   */
  requestCount(): number;
}

/** What one setup hands the suite. */
export interface EmailHarnessContext {
  /** A fresh adapter pointed at {@link server}. The suite does not close it: teardown does. */
  adapter: EmailAdapter;
  /** The local server, with its faults cleared and nothing received. */
  server: EmailTestServer;
  /**
   * The request timeout the adapter was configured with, in ms (the SDK's own: SES
   * `requestTimeout`, SendGrid `timeout`, nodemailer `socketTimeout`). Keep it small: 50-500 ms.
   */
  timeoutMs: number;
  /**
   * The sender the suite uses.
   * @default 'Contract Sender <sender@example.com>'
   */
  from?: string;
}

/** What a provider cannot do; the suite checks the nearest thing it can instead. */
export interface EmailAdapterCapabilities {
  /**
   * The provider says how long to wait when it throttles (HTTP `Retry-After`). SMTP's 454 does
   * not: then the suite checks only the kind.
   * @default true
   */
  retryAfter?: boolean;
  /**
   * The provider assigns the message id in its reply (SES, SendGrid). False when the client sets
   * it (SMTP's `Message-ID`): then instead of `missingMessageId()` the suite checks that the
   * result's id is the `Message-ID` the server received.
   * @default true
   */
  providerMessageId?: boolean;
  /**
   * The server can tell which recipients were bcc ({@link ReceivedMessage.bcc}). When false the
   * suite only checks that no header reveals the bcc address.
   * @default true
   */
  bcc?: boolean;
}

/** How the suite drives one adapter and its local server. */
export interface EmailAdapterHarness {
  /** Before each test: start (or reuse) the local server, clear its faults and records, build a fresh adapter. */
  setup(): Promise<EmailHarnessContext>;
  /** After each test: close the adapter (and anything else setup opened for it). */
  teardown(): Promise<void>;
  /** After the last test: stop the server. */
  close?(): Promise<void>;
  /** What the provider cannot do. */
  capabilities?: EmailAdapterCapabilities;
}

const DEFAULT_FROM = 'Contract Sender <sender@example.com>';
// how far past its own timeout an adapter may take to give up: scheduling on a busy CI machine
const TIMEOUT_SLACK_MS = 1000;

/**
 * Registers the email adapter contract as a vitest `describe` block: plain text; html + text;
 * attachments whose bytes round-trip exactly; custom headers; cc/bcc; non-ASCII subject and
 * names; throttling → `throttled` with `retryAfterMs`; 5xx → `transient`; bad credentials →
 * `auth`; a rejected recipient → `permanent`; a hung server → `timeout` within the timeout; an
 * aborted signal aborts; exactly one wire request per send; a success reply without a message
 * id is an error.
 */
export function describeEmailAdapterContract(name: string, harness: EmailAdapterHarness): void {
  const caps = { retryAfter: true, providerMessageId: true, bcc: true, ...harness.capabilities };

  describe(`email adapter contract: ${name}`, () => {
    let ctx: EmailHarnessContext;
    const from = (): string => ctx.from ?? DEFAULT_FROM;
    const base = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
      from: from(),
      to: ['Rita Recipient <rita@example.com>'],
      subject: 'Contract check',
      text: 'Hello from the contract suite.',
      ...overrides,
    });
    const only = (): ReceivedMessage => {
      const received = ctx.server.received();
      expect(received, 'the server received exactly one message').toHaveLength(1);
      return received[0] as ReceivedMessage;
    };

    beforeEach(async () => {
      ctx = await harness.setup();
    });
    afterEach(async () => {
      await harness.teardown();
    });
    afterAll(async () => {
      await harness.close?.();
    });

    it('sends a plain-text message', async () => {
      const result = await ctx.adapter.send(base());
      expectResult(result, ctx.adapter);
      const got = only();
      expect(got.from.address).toBe('sender@example.com');
      expect(got.to.map((a) => a.address)).toEqual(['rita@example.com']);
      expect(got.subject).toBe('Contract check');
      expect(got.text?.trimEnd()).toBe('Hello from the contract suite.');
      expect(got.html ?? '').toBe('');
      if (got.messageId !== undefined) expect(bare(result.messageId)).toBe(bare(got.messageId));
    });

    it('sends html and text together', async () => {
      const html = '<p>Hello <strong>there</strong></p>';
      await ctx.adapter.send(base({ text: 'Hello there', html }));
      const got = only();
      expect(got.text?.trimEnd()).toBe('Hello there');
      expect(got.html?.trimEnd()).toBe(html);
    });

    it('delivers attachments whose bytes round-trip exactly', async () => {
      const binary = new Uint8Array(3001);
      for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 8)) & 0xff;
      const csv = 'name,city\nZoë,Zürich\n';
      await ctx.adapter.send(
        base({
          attachments: [
            { filename: 'data.bin', contentType: 'application/octet-stream', content: binary },
            { filename: 'people.csv', contentType: 'text/csv', content: csv },
          ],
        }),
      );
      const got = only();
      expect(got.attachments.map((a) => a.filename)).toEqual(['data.bin', 'people.csv']);
      const [bin, text] = got.attachments as [ReceivedAttachment, ReceivedAttachment];
      expect(mimeType(bin.contentType)).toBe('application/octet-stream');
      expect(mimeType(text.contentType)).toBe('text/csv');
      expect(hex(bin.content), 'binary attachment bytes').toBe(hex(binary));
      expect(hex(text.content), 'text attachment bytes (UTF-8)').toBe(hex(new TextEncoder().encode(csv)));
    });

    it('carries custom headers', async () => {
      await ctx.adapter.send(base({ headers: { 'X-Campaign': 'spring-2026', 'X-Entity-Ref-ID': 'ref 42' } }));
      const got = only();
      expect(got.headers['x-campaign']).toBe('spring-2026');
      expect(got.headers['x-entity-ref-id']).toBe('ref 42');
    });

    it('delivers to cc and bcc without revealing the bcc', async () => {
      await ctx.adapter.send(
        base({
          to: ['to@example.com'],
          cc: ['Carl Copy <cc@example.com>'],
          bcc: ['hidden@example.com'],
        }),
      );
      const got = only();
      expect(got.to.map((a) => a.address)).toEqual(['to@example.com']);
      expect(got.cc.map((a) => a.address)).toEqual(['cc@example.com']);
      if (caps.bcc) expect(got.bcc.map((a) => a.address)).toEqual(['hidden@example.com']);
      expect(got.headers.bcc, 'no Bcc header reaches the recipients').toBeUndefined();
      for (const [header, value] of Object.entries(got.headers)) {
        expect(value, `header ${header} reveals the bcc`).not.toContain('hidden@example.com');
      }
    });

    it('keeps non-ASCII subjects and display names intact', async () => {
      const subject = 'Grüße aus Köln — 你好 ✓';
      await ctx.adapter.send(
        base({
          from: 'Zoë Müller <zoe@example.com>',
          to: ['José Álvarez <jose@example.com>'],
          subject,
          text: 'Ça marche : ünïcödé ✓',
        }),
      );
      const got = only();
      expect(got.subject).toBe(subject);
      expect(got.from).toMatchObject({ address: 'zoe@example.com', name: 'Zoë Müller' });
      expect(got.to[0]).toMatchObject({ address: 'jose@example.com', name: 'José Álvarez' });
      expect(got.text?.trimEnd()).toBe('Ça marche : ünïcödé ✓');
    });

    it('maps throttling to throttled with retryAfterMs', async () => {
      ctx.server.throttle(7);
      const error = await rejection(ctx.adapter.send(base()));
      expectProviderError(error, ctx.adapter, { kind: 'throttled', retryable: true });
      if (caps.retryAfter) {
        expect(error.retryAfterMs).toBeGreaterThanOrEqual(6000);
        expect(error.retryAfterMs).toBeLessThanOrEqual(8000);
      }
    });

    it('maps a server error to transient', async () => {
      ctx.server.fail5xx();
      const error = await rejection(ctx.adapter.send(base()));
      expectProviderError(error, ctx.adapter, { kind: 'transient', scope: 'provider', retryable: true });
    });

    it('maps bad credentials to auth', async () => {
      ctx.server.badCredentials();
      const error = await rejection(ctx.adapter.send(base()));
      expectProviderError(error, ctx.adapter, { kind: 'auth', scope: 'provider', retryable: false });
    });

    it('maps a rejected recipient to permanent, message scope', async () => {
      ctx.server.rejectRecipient('nobody@example.com');
      const error = await rejection(ctx.adapter.send(base({ to: ['nobody@example.com'] })));
      expectProviderError(error, ctx.adapter, { kind: 'permanent', scope: 'message', retryable: false });
    });

    it('maps a hung server to timeout within the timeout', async () => {
      ctx.server.hang();
      const started = performance.now();
      const error = await rejection(ctx.adapter.send(base()));
      const elapsed = performance.now() - started;
      expectProviderError(error, ctx.adapter, { kind: 'timeout' });
      expect(elapsed).toBeLessThan(ctx.timeoutMs + TIMEOUT_SLACK_MS);
    });

    it('aborts when the signal aborts, before or during the request', async () => {
      const before = new AbortController();
      before.abort();
      const early = await rejection(ctx.adapter.send(base(), { signal: before.signal }));
      expectAbort(early, before.signal);
      expect(ctx.server.requestCount(), 'an aborted signal sends nothing').toBe(0);

      ctx.server.hang();
      const during = new AbortController();
      const started = performance.now();
      const pending = ctx.adapter.send(base(), { signal: during.signal });
      setTimeout(() => during.abort(), Math.max(1, Math.floor(ctx.timeoutMs / 5)));
      const late = await rejection(pending);
      expectAbort(late, during.signal);
      expect(performance.now() - started, 'the abort ends the wait before the timeout').toBeLessThan(
        ctx.timeoutMs + TIMEOUT_SLACK_MS,
      );
    });

    it('makes exactly one wire request per send', async () => {
      await ctx.adapter.send(base());
      expect(ctx.server.requestCount()).toBe(1);
      await ctx.adapter.send(base({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'] }));
      expect(ctx.server.requestCount()).toBe(2);
    });

    if (caps.providerMessageId) {
      it('treats a success reply without a message id as an error', async () => {
        expect(ctx.server.missingMessageId, 'the harness implements missingMessageId()').toBeTypeOf(
          'function',
        );
        ctx.server.missingMessageId?.();
        const error = await rejection(ctx.adapter.send(base()));
        expectProviderError(error, ctx.adapter, { retryable: false });
      });
    } else {
      it('returns the Message-ID the server received (the client sets it)', async () => {
        const result = await ctx.adapter.send(base({ idempotencyKey: 'contract-key-1' }));
        const got = only();
        expect(got.messageId, 'the server saw a Message-ID').toBeTypeOf('string');
        expect(bare(result.messageId)).toBe(bare(got.messageId as string));
      });
    }
  });
}

function expectResult(result: SendResult, adapter: EmailAdapter): void {
  expect(result.provider).toBe(adapter.provider);
  expect(typeof result.messageId).toBe('string');
  expect(result.messageId.length).toBeGreaterThan(0);
}

function expectProviderError(
  error: unknown,
  adapter: EmailAdapter,
  expected: Partial<Pick<ProviderError, 'kind' | 'scope' | 'retryable'>>,
): asserts error is ProviderError {
  expect(isProviderError(error), `expected a ProviderError, got ${String(error)}`).toBe(true);
  const e = error as ProviderError;
  expect({ kind: e.kind, scope: e.scope, retryable: e.retryable }).toMatchObject(expected);
  expect(e.provider).toBe(adapter.provider);
}

function expectAbort(error: unknown, signal: AbortSignal): void {
  const isAbort =
    error === signal.reason ||
    (typeof error === 'object' && error !== null && (error as Error).name === 'AbortError');
  expect(isAbort, `expected the signal's reason or an AbortError, got ${String(error)}`).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    return error as ProviderError;
  }
  throw new Error('expected the send to fail, but it succeeded');
}

function bare(id: string): string {
  return id.trim().replace(/^<|>$/g, '');
}

function mimeType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
