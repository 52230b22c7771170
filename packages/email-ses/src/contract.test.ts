import type { EmailAdapterHarness } from '@tracks/email/testing';
import { describeEmailAdapterContract } from '@tracks/email/testing';
import { SesEmailAdapter } from './ses-email-adapter.js';
import { type SesTestServer, startSesServer } from './test-server.js';

// every send of the suite runs with it, so it must survive a busy CI machine; the hang and abort
// checks cost about this much each
const TIMEOUT_MS = 500;
const credentials = { accessKeyId: 'AKIDTRACKSTEST', secretAccessKey: 'contract-secret-key' };

function sesHarness(): EmailAdapterHarness {
  let server: SesTestServer | undefined;
  let adapter: SesEmailAdapter | undefined;
  return {
    // SES's Throttling error says nothing about when to come back
    capabilities: { retryAfter: false },
    async setup() {
      server ??= await startSesServer();
      server.reset();
      const s = server;
      adapter = new SesEmailAdapter({
        region: 'us-east-1',
        endpoint: s.url,
        credentials,
        requestTimeoutMs: TIMEOUT_MS,
      });
      return {
        adapter,
        timeoutMs: TIMEOUT_MS,
        server: {
          throttle() {
            s.fallback = {
              kind: 'error',
              status: 400,
              code: 'Throttling',
              message: 'Maximum sending rate exceeded.',
            };
          },
          fail5xx() {
            s.fallback = {
              kind: 'error',
              status: 503,
              code: 'ServiceUnavailable',
              message: 'Service unavailable.',
            };
          },
          badCredentials() {
            s.accessKeyIds.clear();
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

describeEmailAdapterContract('ses', sesHarness());
