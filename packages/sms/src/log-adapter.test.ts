import { describe, expect, it } from 'vitest';
import { InvalidMessageError, InvalidPhoneNumberError } from './errors.js';
import { LogSmsAdapter } from './log-adapter.js';
import { OtpService } from './otp.js';

function capture() {
  const lines: { message: string; fields: Record<string, unknown> | undefined }[] = [];
  return {
    lines,
    logger: { info: (message: string, fields?: Record<string, unknown>) => lines.push({ message, fields }) },
  };
}

describe('LogSmsAdapter', () => {
  it('writes the message with the number masked', async () => {
    const { lines, logger } = capture();
    const adapter = new LogSmsAdapter({ logger, nodeEnv: 'development' });
    const result = await adapter.sendMessage('+1 415 555 4567', 'Hello there');
    expect(result).toMatchObject({ provider: 'log', segments: 1, messageId: expect.stringMatching(/^log-/) });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toContain('+1******4567');
    expect(lines[0]!.message).toContain('Hello there');
    expect(JSON.stringify(lines)).not.toContain('4155554567');
    expect(lines[0]!.fields).toMatchObject({ to: '+1******4567', segments: 1, messageId: result.messageId });
  });

  it('logs the code of an OTP and verifies it locally', async () => {
    const { lines, logger } = capture();
    const adapter = new LogSmsAdapter({ logger, nodeEnv: 'test' });
    const sent = await adapter.sendOtp('+14155554567');
    expect(sent.provider).toBe('log');
    expect(sent.expiresAt).toBeInstanceOf(Date);
    const code = /\b(\d{6})\b/.exec(lines[0]!.message)?.[1];
    expect(code).toBeDefined();
    expect(await adapter.verifyOtp('+14155554567', code!)).toEqual({ valid: true });
  });

  it('uses the OtpService it is given', async () => {
    const otp = new OtpService({ secret: 'a-test-secret-of-32-bytes-length', codeLength: 8 });
    const { lines, logger } = capture();
    const adapter = new LogSmsAdapter({ logger, otp, nodeEnv: 'test', otpMessage: (code) => `code ${code}` });
    await adapter.sendOtp('+14155554567');
    expect(lines[0]!.message).toMatch(/: code \d{8}$/);
    expect(adapter.otp).toBe(otp);
  });

  it('refuses to start with NODE_ENV=production', () => {
    expect(() => new LogSmsAdapter({ nodeEnv: 'production' })).toThrow(/production/);
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => new LogSmsAdapter()).toThrow(/NODE_ENV=production/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('validates before logging anything', async () => {
    const { lines, logger } = capture();
    const adapter = new LogSmsAdapter({ logger, nodeEnv: 'test' });
    await expect(adapter.sendMessage('555-1234', 'hi')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    await expect(adapter.sendMessage('+14155554567', 'bell\u0007')).rejects.toBeInstanceOf(
      InvalidMessageError,
    );
    await expect(adapter.sendOtp('+999')).rejects.toBeInstanceOf(InvalidPhoneNumberError);
    expect(lines).toHaveLength(0);
  });
});
