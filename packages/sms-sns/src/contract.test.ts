import { OtpService } from '@tracks/sms';
import { describeSmsAdapterContract, type SmsContractFault } from '@tracks/sms/testing';
import { FakeSns, type FakeSnsFault } from './fake-sns.js';
import { SnsSmsAdapter } from './sns-adapter.js';

const SECRET_KEY = 'sns-secret-access-key-never-logged';
const faults: Record<SmsContractFault, FakeSnsFault> = {
  throttled: { code: 'Throttled', status: 429, message: 'Rate exceeded' },
  transient: { code: 'InternalError', status: 500 },
  auth: {
    code: 'InvalidClientTokenId',
    status: 403,
    message: 'The security token included in the request is invalid.',
  },
  'invalid-number': {
    code: 'InvalidParameter',
    status: 400,
    message: 'Invalid parameter: PhoneNumber Reason: not valid',
  },
  'opted-out': { code: 'OptedOut', status: 400, message: 'Phone number is opted out' },
  hang: 'hang',
  'no-message-id': 'no-message-id',
};

let server: FakeSns | undefined;

describeSmsAdapterContract('SnsSmsAdapter', {
  timeoutMs: 300,
  otpTtlMs: 600_000,
  secrets: [SECRET_KEY],
  async create({ requestTimeoutMs }) {
    server ??= await FakeSns.start();
    const sns = server;
    sns.reset();
    let time = 1_000_000;
    const otp = new OtpService({ secret: 'a-test-secret-of-32-bytes-length', now: () => time });
    const adapter = new SnsSmsAdapter({
      otp,
      endpoint: sns.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: SECRET_KEY },
      requestTimeoutMs,
    });
    return {
      adapter,
      requests: () => sns.requests,
      received: () => sns.published.map(({ to, body }) => ({ to, body })),
      lastCode: (phone) => {
        const body = sns.published.filter((p) => p.to === phone).at(-1)?.body;
        return body === undefined ? undefined : /\b(\d{6})\b/.exec(body)?.[1];
      },
      advance: (ms) => {
        time += ms;
      },
      fail: (fault) => {
        sns.faults.push(faults[fault]);
      },
      close: () => adapter.close(),
    };
  },
  async stop() {
    await server?.stop();
  },
});
