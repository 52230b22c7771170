import type { MemorySmsFault } from './memory-adapter.js';
import { MemorySmsAdapter } from './memory-adapter.js';
import { MemoryOtpStore } from './memory-otp-store.js';
import { OtpService } from './otp.js';
import { describeOtpStoreContract, describeSmsAdapterContract, type SmsContractFault } from './testing.js';

const faults: Record<SmsContractFault, MemorySmsFault> = {
  throttled: 'throttled',
  transient: 'transient',
  auth: 'auth',
  'invalid-number': 'invalid',
  'opted-out': 'opted-out',
  hang: 'timeout',
  'no-message-id': 'no-message-id',
};

describeSmsAdapterContract('MemorySmsAdapter', {
  timeoutMs: 100,
  otpTtlMs: 600_000,
  create() {
    let time = 1_000_000;
    const otp = new OtpService({ secret: 'a-test-secret-of-32-bytes-length', now: () => time });
    const adapter = new MemorySmsAdapter({ otp });
    return {
      adapter,
      requests: () => adapter.calls,
      received: () => adapter.sent.map(({ to, body }) => ({ to, body })),
      lastCode: (phone) => adapter.lastCode(phone),
      advance: (ms) => {
        time += ms;
      },
      fail: (fault) => {
        adapter.fail(faults[fault]);
      },
    };
  },
});

describeOtpStoreContract('MemoryOtpStore', { create: () => new MemoryOtpStore() });
