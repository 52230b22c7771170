import { describeEmailAdapterContract } from '@tracks/email/testing';
import { SmtpEmailAdapter } from './smtp-email-adapter.js';
import { SmtpTestServer, TEST_PASSWORD, TEST_USER } from './test/smtp-test-server.js';

// Real SMTP over 127.0.0.1: nodemailer's pooled transport against smtp-server with AUTH.
// Small, but with room for a busy CI machine: a healthy exchange that stalls past it would be
// reported as a timeout and fail the plain cases.
const TIMEOUT_MS = 250;
const server = new SmtpTestServer();
let adapter: SmtpEmailAdapter | undefined;

describeEmailAdapterContract('smtp', {
  capabilities: { retryAfter: false, providerMessageId: false },
  async setup() {
    if (server.port === 0) await server.listen();
    server.reset();
    adapter = new SmtpEmailAdapter({
      host: '127.0.0.1',
      port: server.port,
      auth: { user: TEST_USER, pass: TEST_PASSWORD },
      socketTimeoutMs: TIMEOUT_MS,
      greetingTimeoutMs: 2000,
      connectionTimeoutMs: 2000,
    });
    return { adapter, server, timeoutMs: TIMEOUT_MS };
  },
  async teardown() {
    await adapter?.close();
    // a late message from this test must not land in the next test's records
    await server.drained(1000);
  },
  async close() {
    await server.close();
  },
});
