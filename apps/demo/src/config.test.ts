import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('runs on embedded defaults with no configuration at all', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.email.provider).toBe('smtp');
    expect(config.email.smtp.host).toBeUndefined();
    expect(config.email.from).toBe('tracks@localhost');
    expect(config.sms.provider).toBe('log');
    expect(config.storage.provider).toBe('fs');
    expect(config.storage.fsRoot).toBe('./.tracks-data');
    expect(config.breakerTimeoutMs).toBeUndefined();
    expect(config.outbox).toEqual({
      enabled: true,
      driver: 'sqlite',
      path: './.tracks-outbox/outbox.db',
      maxAttempts: 10,
    });
  });

  it('reads the outbox settings and refuses unknown ones in one line', () => {
    expect(loadConfig({ EMAIL_QUEUE: 'off', OUTBOX_DRIVER: 'Memory' }).outbox).toMatchObject({
      enabled: false,
      driver: 'memory',
    });
    expect(() => loadConfig({ OUTBOX_DRIVER: 'redis' })).toThrow(
      new ConfigError('unknown outbox driver: redis (expected one of sqlite, memory)'),
    );
    expect(() => loadConfig({ EMAIL_QUEUE: 'maybe' })).toThrow(/EMAIL_QUEUE must be true or false/);
    expect(() => loadConfig({ OUTBOX_MAX_ATTEMPTS: '0' })).toThrow(/OUTBOX_MAX_ATTEMPTS must be an integer/);
  });

  it('reads every family and its settings', () => {
    const config = loadConfig({
      PORT: '0',
      EMAIL_PROVIDER: 'SES',
      EMAIL_FALLBACK_PROVIDER: 'sendgrid',
      SENDGRID_API_KEY: 'SG.key',
      AWS_REGION: 'eu-west-1',
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: '+15005550006',
      TWILIO_VERIFY_SERVICE_SID: 'VA1',
      STORAGE_PROVIDER: 's3',
      S3_BUCKET: 'files',
      S3_FORCE_PATH_STYLE: 'true',
      BREAKER_TIMEOUT_MS: '10000',
    });
    expect(config.email).toMatchObject({ provider: 'ses', fallback: 'sendgrid', sendgridApiKey: 'SG.key' });
    expect(config.sms.twilio).toMatchObject({
      accountSid: 'AC1',
      from: '+15005550006',
      verifyServiceSid: 'VA1',
    });
    expect(config.storage).toMatchObject({ provider: 's3', s3Bucket: 'files', s3ForcePathStyle: true });
    expect(config.awsRegion).toBe('eu-west-1');
    expect(config.breakerTimeoutMs).toBe(10_000);
  });

  it.each([
    [{ EMAIL_PROVIDER: 'foo' }, /^unknown email provider: foo/],
    [{ SMS_PROVIDER: 'pigeon' }, /^unknown SMS provider: pigeon/],
    [{ STORAGE_PROVIDER: 'tape' }, /^unknown storage provider: tape/],
    [{ EMAIL_FALLBACK_PROVIDER: 'bar' }, /^unknown email provider: bar/],
    [
      { EMAIL_PROVIDER: 'sendgrid' },
      /^missing setting: SENDGRID_API_KEY \(required by EMAIL_PROVIDER=sendgrid\)$/,
    ],
    [{ EMAIL_PROVIDER: 'ses' }, /^missing setting: AWS_REGION/],
    [{ SMS_PROVIDER: 'sns' }, /^missing setting: AWS_REGION \(required by SMS_PROVIDER=sns\)$/],
    [{ SMS_PROVIDER: 'twilio' }, /^missing setting: TWILIO_ACCOUNT_SID/],
    [{ STORAGE_PROVIDER: 's3', AWS_REGION: 'us-east-1' }, /^missing setting: S3_BUCKET/],
    [{ EMAIL_FALLBACK_PROVIDER: 'smtp' }, /must differ from EMAIL_PROVIDER/],
    [{ PORT: 'eighty' }, /^PORT must be an integer/],
    [{ BREAKER_TIMEOUT_MS: '-5' }, /^BREAKER_TIMEOUT_MS must be a positive integer/],
    [{ SMTP_SECURE: 'maybe' }, /^SMTP_SECURE must be true or false/],
    [{ NODE_ENV: 'production' }, /SMS_PROVIDER=log .* refuses to run with NODE_ENV=production/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ OTP_SECRET: 'short' }, /^OTP_SECRET must be at least 16 bytes long$/],
  ])('refuses %o with one clear line', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
