import { randomBytes } from 'node:crypto';
import { LogSmsAdapter, MemoryOtpStore, OtpService, type SmsAdapter, withResilience } from '@tracks/sms';
import type { SmsProviderName } from './config.js';
import type { SmsService } from './services.js';
import type { WireContext, Wiring } from './wiring.js';

/**
 * The SMS family: the configured provider behind its fault layer and its `sms:<provider>`
 * breaker. Providers without their own verification (log, SNS) issue and check codes through
 * one local OtpService, outside any breaker.
 */
export async function wireSms(context: WireContext, wiring: Wiring): Promise<SmsService> {
  const raw = await smsAdapter(context.config.sms.provider, context);
  wiring.closers.push(() => raw.close?.());
  // a local verifier is not a provider call: only provider calls get faults
  const operations =
    raw.otp === undefined ? ['sendMessage', 'sendOtp', 'verifyOtp'] : ['sendMessage', 'deliverOtp'];
  const adapter = wiring.guard('sms', raw, withResilience, { operations, primary: true });
  const options = (signal: AbortSignal | undefined) => (signal === undefined ? undefined : { signal });
  return {
    sendMessage: (to, body, signal) => adapter.sendMessage(to, body, options(signal)),
    sendOtp: (phone, signal) => adapter.sendOtp(phone, options(signal)),
    verifyOtp: (phone, code, signal) => adapter.verifyOtp(phone, code, options(signal)),
  };
}

async function smsAdapter(name: SmsProviderName, context: WireContext): Promise<SmsAdapter> {
  const { config, log } = context;
  const otp = () =>
    new OtpService({ secret: config.sms.otpSecret ?? randomBytes(32), store: new MemoryOtpStore() });
  switch (name) {
    case 'log':
      return new LogSmsAdapter({
        otp: otp(),
        // the log adapter's whole point is to show the message (and the code) in the log
        logger: { info: (message, fields) => log.info({ sms: fields }, message) },
      });
    case 'sns': {
      const { SnsSmsAdapter } = await import('@tracks/sms-sns');
      return new SnsSmsAdapter({
        ...(config.awsRegion !== undefined && { region: config.awsRegion }),
        ...(config.sms.snsSenderId !== undefined && { senderId: config.sms.snsSenderId }),
        requestTimeoutMs: config.providerTimeoutMs,
        otp: otp(),
      });
    }
    case 'twilio': {
      const { TwilioSmsAdapter } = await import('@tracks/sms-twilio');
      const t = config.sms.twilio;
      return new TwilioSmsAdapter({
        ...(t.accountSid !== undefined && { accountSid: t.accountSid }),
        ...(t.authToken !== undefined && { authToken: t.authToken }),
        timeoutMs: config.providerTimeoutMs,
        ...(t.verifyServiceSid !== undefined && { verifyServiceSid: t.verifyServiceSid }),
        ...(t.from !== undefined && { from: t.from }),
        ...(t.messagingServiceSid !== undefined && { messagingServiceSid: t.messagingServiceSid }),
      });
    }
  }
}
