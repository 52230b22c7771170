import type { EmailAdapterHarness } from '@tracks/email/testing';
import { describeEmailAdapterContract } from '@tracks/email/testing';
import { SendGridEmailAdapter } from './sendgrid-email-adapter.js';
import { rateLimitHeaders, type SendGridTestServer, startSendGridServer } from './test-server.js';

// every send of the suite runs with it, so it must survive a busy CI machine; the hang and abort
// checks cost about this much each
const TIMEOUT_MS = 500;
const API_KEY = 'SG.tracks-test.key';

function sendGridHarness(): EmailAdapterHarness {
  let server: SendGridTestServer | undefined;
  let adapter: SendGridEmailAdapter | undefined;
  return {
    async setup() {
      server ??= await startSendGridServer({ apiKeys: [API_KEY] });
      server.reset();
      const s = server;
      adapter = new SendGridEmailAdapter({ apiKey: API_KEY, baseUrl: s.url, requestTimeoutMs: TIMEOUT_MS });
      return {
        adapter,
        timeoutMs: TIMEOUT_MS,
        server: {
          throttle(seconds) {
            s.fallback = {
              kind: 'error',
              status: 429,
              errors: [{ field: null, message: 'too many requests' }],
              headers: rateLimitHeaders(seconds),
            };
          },
          fail5xx() {
            s.fallback = {
              kind: 'error',
              status: 503,
              errors: [{ field: null, message: 'Service Unavailable' }],
            };
          },
          badCredentials() {
            s.apiKeys.clear();
          },
          rejectRecipient(address) {
            s.rejectedRecipients.add(address.toLowerCase());
          },
          hang() {
            s.fallback = { kind: 'hang' };
          },
          missingMessageId() {
            s.fallback = { kind: 'no-message-id' };
          },
          received: () => [...s.received],
          requestCount: () => s.requests.length,
        },
      };
    },
    async teardown() {
      await adapter?.close();
      adapter = undefined;
    },
    async close() {
      await server?.close();
      server = undefined;
    },
  };
}

describeEmailAdapterContract('sendgrid', sendGridHarness());
