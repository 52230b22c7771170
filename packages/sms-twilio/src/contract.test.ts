import { describeSmsAdapterContract, type SmsContractFault } from '@tracks/sms/testing';
import { FakeTwilio, type FakeTwilioFault } from './fake-twilio.js';
import { TwilioSmsAdapter } from './twilio-adapter.js';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-never-logged-0123';
const VERIFY_SID = `VA${'a'.repeat(32)}`;
const faults: Record<SmsContractFault, FakeTwilioFault | 'hang' | 'no-sid'> = {
  throttled: { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '2' },
  transient: { status: 503, code: 20503, message: 'Service unavailable' },
  auth: { status: 401, code: 20003, message: 'Authenticate' },
  'invalid-number': { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." },
  'opted-out': { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' },
  hang: 'hang',
  'no-message-id': 'no-sid',
};

let server: FakeTwilio | undefined;

describeSmsAdapterContract('TwilioSmsAdapter', {
  timeoutMs: 300,
  otpTtlMs: 600_000,
  secrets: [AUTH_TOKEN],
  throttleCarriesRetryAfter: true,
  async create({ requestTimeoutMs }) {
    server ??= await FakeTwilio.start(ACCOUNT_SID, AUTH_TOKEN);
    const twilio = server;
    twilio.reset();
    const adapter = new TwilioSmsAdapter({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: '+15005550006',
      verifyServiceSid: VERIFY_SID,
      baseUrl: twilio.baseUrl,
      timeoutMs: requestTimeoutMs,
    });
    return {
      adapter,
      requests: () => twilio.requests,
      received: () => [...twilio.deliveries],
      lastCode: (phone) => twilio.lastCode(phone),
      advance: (ms) => {
        twilio.now += ms;
      },
      fail: (fault) => {
        twilio.faults.push(faults[fault]);
      },
      close: () => adapter.close(),
    };
  },
  async stop() {
    await server?.stop();
  },
});
