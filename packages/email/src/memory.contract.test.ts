import { ProviderError } from '@tracks/breaker';
import { parseAddress } from './address.js';
import { MemoryEmailAdapter } from './memory.js';
import type { EmailTestServer, ReceivedAddress, ReceivedMessage } from './testing.js';
import { describeEmailAdapterContract } from './testing.js';

// The memory adapter is its own "server": the harness translates each server fault into the
// error the provider would have answered with. Running the suite here proves the suite itself.
let adapter: MemoryEmailAdapter;

function address(mailbox: string): ReceivedAddress {
  const parsed = parseAddress(mailbox);
  if (!parsed.ok) throw new Error(`unparseable ${mailbox}`);
  return parsed.value.name === undefined
    ? { address: parsed.value.address }
    : { address: parsed.value.address, name: parsed.value.name };
}

const encoder = new TextEncoder();
const server: EmailTestServer = {
  throttle: (seconds) => {
    adapter.failNext(
      new ProviderError({
        kind: 'throttled',
        provider: 'memory',
        operation: 'send',
        retryAfterMs: seconds * 1000,
      }),
      Number.POSITIVE_INFINITY,
    );
  },
  fail5xx: () => {
    adapter.failNext(
      new ProviderError({ kind: 'transient', provider: 'memory', operation: 'send', status: 503 }),
      Number.POSITIVE_INFINITY,
    );
  },
  badCredentials: () => {
    adapter.failNext(
      new ProviderError({ kind: 'auth', provider: 'memory', operation: 'send', status: 401 }),
      Number.POSITIVE_INFINITY,
    );
  },
  rejectRecipient: (addr) => {
    adapter.rejectRecipient(addr);
  },
  hang: () => {
    adapter.hanging = true;
  },
  missingMessageId: () => {
    adapter.missingMessageId = true;
  },
  received: (): ReceivedMessage[] =>
    adapter.sent.map(({ message: m, messageId }) => ({
      from: address(m.from),
      to: m.to.map(address),
      cc: (m.cc ?? []).map(address),
      bcc: (m.bcc ?? []).map(address),
      subject: m.subject,
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.html !== undefined ? { html: m.html } : {}),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      attachments: (m.attachments ?? []).map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: typeof a.content === 'string' ? encoder.encode(a.content) : a.content,
      })),
      messageId,
    })),
  requestCount: () => adapter.requests,
};

describeEmailAdapterContract('memory', {
  async setup() {
    adapter = new MemoryEmailAdapter({ timeoutMs: 50 });
    return { adapter, server, timeoutMs: 50 };
  },
  async teardown() {
    await adapter.close();
  },
});
