import { z } from 'zod';

/** Email providers the demo can wire. */
export const emailProviders = ['smtp', 'ses', 'sendgrid', 'memory'] as const;
/** SMS providers the demo can wire. */
export const smsProviders = ['log', 'sns', 'twilio'] as const;
/** Storage providers the demo can wire. */
export const storageProviders = ['fs', 's3'] as const;

export type EmailProviderName = (typeof emailProviders)[number];
export type SmsProviderName = (typeof smsProviders)[number];
export type StorageProviderName = (typeof storageProviders)[number];
/** Outbox drivers the demo can use. */
export const outboxDrivers = ['sqlite', 'memory'] as const;
export type OutboxDriverName = (typeof outboxDrivers)[number];

/** The demo's validated configuration. Every field comes from one environment variable. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly nodeEnv: string;
  readonly logLevel: string;
  readonly email: {
    readonly provider: EmailProviderName;
    readonly fallback?: EmailProviderName;
    readonly from: string;
    readonly smtp: {
      /** Absent: the embedded SMTP sink receives the mail. */
      readonly host?: string;
      readonly port: number;
      readonly secure: boolean;
      readonly user?: string;
      readonly password?: string;
    };
    /** Port of the embedded SMTP sink; 0 picks a free one. */
    readonly sinkPort: number;
    readonly sendgridApiKey?: string;
  };
  readonly sms: {
    readonly provider: SmsProviderName;
    readonly otpSecret?: string;
    readonly snsSenderId?: string;
    readonly twilio: {
      readonly accountSid?: string;
      readonly authToken?: string;
      readonly from?: string;
      readonly messagingServiceSid?: string;
      readonly verifyServiceSid?: string;
    };
  };
  readonly storage: {
    readonly provider: StorageProviderName;
    readonly fsRoot: string;
    readonly s3Bucket?: string;
    readonly s3ForcePathStyle: boolean;
  };
  /** The email outbox: `EMAIL_QUEUE=off` leaves it out (an unavailable provider answers 503). */
  readonly outbox: {
    readonly enabled: boolean;
    readonly driver: OutboxDriverName;
    /** SQLite database file of the sqlite driver. */
    readonly path: string;
    /** Failed delivery attempts before a job goes to the dead letters. */
    readonly maxAttempts: number;
  };
  readonly awsRegion?: string;
  /** Overrides every preset's open period (ms) when set. */
  readonly breakerTimeoutMs?: number;
  /** Per-attempt provider timeout (ms). */
  readonly providerTimeoutMs: number;
  /** Budget for all attempts and waits of one call (ms). */
  readonly maxElapsedMs: number;
  readonly jsonBodyLimitBytes: number;
  readonly fileBodyLimitBytes: number;
}

/** Sender of every mail unless `EMAIL_FROM` says otherwise. */
export const DEFAULT_EMAIL_FROM = 'tracks@localhost';

/** Where the sqlite outbox keeps queued mail unless `OUTBOX_DB_PATH` says otherwise. */
export const DEFAULT_OUTBOX_DB_PATH = './.tracks-outbox/outbox.db';

/** A configuration problem, with a message that fits on one line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const integer = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must be an integer from ${min} to ${max}, got "${v}"`,
      });
      return z.NEVER;
    }
    return n;
  });

const boolean = (name: string, fallback: boolean) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
    return z.NEVER;
  });

function oneOf<const T extends readonly string[]>(family: string, names: T, fallback: T[number] | undefined) {
  return optional.transform((v, ctx): T[number] | undefined => {
    if (v === undefined) return fallback;
    const name = v.toLowerCase();
    if (!names.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown ${family} provider: ${v} (expected one of ${names.join(', ')})`,
      });
      return z.NEVER;
    }
    return name as T[number];
  });
}

const schema = z
  .object({
    HOST: optional.transform((v) => v ?? '127.0.0.1'),
    PORT: integer('PORT', 3000, 0, 65535),
    NODE_ENV: optional.transform((v) => v ?? 'development'),
    LOG_LEVEL: optional
      .transform((v) => v ?? 'info')
      .refine((v) => ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v), {
        message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      }),
    EMAIL_PROVIDER: oneOf('email', emailProviders, 'smtp'),
    EMAIL_FALLBACK_PROVIDER: oneOf('email', emailProviders, undefined),
    // `localhost` is the one single-label domain @tracks/email accepts (RFC 6761 reserves it for
    // loopback): development sinks such as Mailpit take mail for it
    EMAIL_FROM: optional.transform((v) => v ?? DEFAULT_EMAIL_FROM),
    SMTP_HOST: optional,
    SMTP_PORT: integer('SMTP_PORT', 587, 1, 65535),
    SMTP_SECURE: boolean('SMTP_SECURE', false),
    SMTP_USER: optional,
    SMTP_PASSWORD: optional,
    SMTP_SINK_PORT: integer('SMTP_SINK_PORT', 0, 0, 65535),
    SENDGRID_API_KEY: optional,
    SMS_PROVIDER: oneOf('SMS', smsProviders, 'log'),
    OTP_SECRET: optional,
    SNS_SENDER_ID: optional,
    TWILIO_ACCOUNT_SID: optional,
    TWILIO_AUTH_TOKEN: optional,
    TWILIO_FROM: optional,
    TWILIO_MESSAGING_SERVICE_SID: optional,
    TWILIO_VERIFY_SERVICE_SID: optional,
    STORAGE_PROVIDER: oneOf('storage', storageProviders, 'fs'),
    STORAGE_FS_ROOT: optional.transform((v) => v ?? './.tracks-data'),
    S3_BUCKET: optional,
    S3_FORCE_PATH_STYLE: boolean('S3_FORCE_PATH_STYLE', false),
    EMAIL_QUEUE: boolean('EMAIL_QUEUE', true),
    OUTBOX_DRIVER: optional.transform((v, ctx): OutboxDriverName => {
      if (v === undefined) return 'sqlite';
      const name = v.toLowerCase();
      if (!(outboxDrivers as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown outbox driver: ${v} (expected one of ${outboxDrivers.join(', ')})`,
        });
        return z.NEVER;
      }
      return name as OutboxDriverName;
    }),
    // not under STORAGE_FS_ROOT: the fs store serves every file under its root at /api/files
    OUTBOX_DB_PATH: optional.transform((v) => v ?? DEFAULT_OUTBOX_DB_PATH),
    OUTBOX_MAX_ATTEMPTS: integer('OUTBOX_MAX_ATTEMPTS', 10, 1, 1000),
    AWS_REGION: optional,
    AWS_DEFAULT_REGION: optional,
    BREAKER_TIMEOUT_MS: optional.transform((v, ctx) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        ctx.addIssue({
          code: 'custom',
          message: `BREAKER_TIMEOUT_MS must be a positive integer, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    }),
    PROVIDER_TIMEOUT_MS: integer('PROVIDER_TIMEOUT_MS', 2000, 1, 60_000),
    RETRY_MAX_ELAPSED_MS: integer('RETRY_MAX_ELAPSED_MS', 3000, 0, 60_000),
    JSON_BODY_LIMIT_BYTES: integer('JSON_BODY_LIMIT_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    FILE_BODY_LIMIT_BYTES: integer('FILE_BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
  })
  .superRefine((env, ctx) => {
    const missing = (variable: string, why: string) =>
      ctx.addIssue({ code: 'custom', message: `missing setting: ${variable} (required by ${why})` });
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const emailUses = (name: string) => env.EMAIL_PROVIDER === name || env.EMAIL_FALLBACK_PROVIDER === name;
    const emailWhy = (name: string) =>
      env.EMAIL_PROVIDER === name ? `EMAIL_PROVIDER=${name}` : `EMAIL_FALLBACK_PROVIDER=${name}`;
    if (env.EMAIL_FALLBACK_PROVIDER !== undefined && env.EMAIL_FALLBACK_PROVIDER === env.EMAIL_PROVIDER) {
      ctx.addIssue({
        code: 'custom',
        message: `EMAIL_FALLBACK_PROVIDER must differ from EMAIL_PROVIDER (both are ${env.EMAIL_PROVIDER})`,
      });
    }
    if (emailUses('ses') && region === undefined) missing('AWS_REGION', emailWhy('ses'));
    if (emailUses('sendgrid') && env.SENDGRID_API_KEY === undefined)
      missing('SENDGRID_API_KEY', emailWhy('sendgrid'));
    if (env.SMTP_USER !== undefined && env.SMTP_PASSWORD === undefined) missing('SMTP_PASSWORD', 'SMTP_USER');
    if (env.SMS_PROVIDER === 'sns' && region === undefined) missing('AWS_REGION', 'SMS_PROVIDER=sns');
    if (env.SMS_PROVIDER === 'twilio') {
      if (env.TWILIO_ACCOUNT_SID === undefined) missing('TWILIO_ACCOUNT_SID', 'SMS_PROVIDER=twilio');
      if (env.TWILIO_AUTH_TOKEN === undefined) missing('TWILIO_AUTH_TOKEN', 'SMS_PROVIDER=twilio');
      if (env.TWILIO_FROM === undefined && env.TWILIO_MESSAGING_SERVICE_SID === undefined) {
        missing('TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID', 'SMS_PROVIDER=twilio');
      }
      if (env.TWILIO_VERIFY_SERVICE_SID === undefined)
        missing('TWILIO_VERIFY_SERVICE_SID', 'SMS_PROVIDER=twilio');
    }
    if (env.SMS_PROVIDER === 'log' && env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        message: 'SMS_PROVIDER=log writes codes to the log and refuses to run with NODE_ENV=production',
      });
    }
    if (env.NODE_ENV === 'production' && (env.SMS_PROVIDER === 'sns' || env.SMS_PROVIDER === 'log')) {
      if (env.OTP_SECRET === undefined)
        missing('OTP_SECRET', `SMS_PROVIDER=${env.SMS_PROVIDER} with NODE_ENV=production`);
    }
    if (env.OTP_SECRET !== undefined && Buffer.byteLength(env.OTP_SECRET) < 16) {
      ctx.addIssue({ code: 'custom', message: 'OTP_SECRET must be at least 16 bytes long' });
    }
    if (env.STORAGE_PROVIDER === 's3') {
      if (env.S3_BUCKET === undefined) missing('S3_BUCKET', 'STORAGE_PROVIDER=s3');
      if (region === undefined) missing('AWS_REGION', 'STORAGE_PROVIDER=s3');
    }
  });

/**
 * Reads and validates the configuration from environment variables. Throws a
 * {@link ConfigError} whose message is one line naming the variable at fault.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = issue?.path[0];
    const message = issue?.message ?? 'invalid configuration';
    // our own messages name their variable; zod's generic ones do not
    throw new ConfigError(
      typeof variable === 'string' && !message.includes(variable) && issue?.code !== 'custom'
        ? `${variable}: ${message}`
        : message,
    );
  }
  const e = result.data;
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION;
  return {
    host: e.HOST,
    port: e.PORT,
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    email: {
      provider: e.EMAIL_PROVIDER ?? 'smtp',
      ...(e.EMAIL_FALLBACK_PROVIDER !== undefined && { fallback: e.EMAIL_FALLBACK_PROVIDER }),
      from: e.EMAIL_FROM,
      smtp: {
        ...(e.SMTP_HOST !== undefined && { host: e.SMTP_HOST }),
        port: e.SMTP_PORT,
        secure: e.SMTP_SECURE,
        ...(e.SMTP_USER !== undefined && { user: e.SMTP_USER }),
        ...(e.SMTP_PASSWORD !== undefined && { password: e.SMTP_PASSWORD }),
      },
      sinkPort: e.SMTP_SINK_PORT,
      ...(e.SENDGRID_API_KEY !== undefined && { sendgridApiKey: e.SENDGRID_API_KEY }),
    },
    sms: {
      provider: e.SMS_PROVIDER ?? 'log',
      ...(e.OTP_SECRET !== undefined && { otpSecret: e.OTP_SECRET }),
      ...(e.SNS_SENDER_ID !== undefined && { snsSenderId: e.SNS_SENDER_ID }),
      twilio: {
        ...(e.TWILIO_ACCOUNT_SID !== undefined && { accountSid: e.TWILIO_ACCOUNT_SID }),
        ...(e.TWILIO_AUTH_TOKEN !== undefined && { authToken: e.TWILIO_AUTH_TOKEN }),
        ...(e.TWILIO_FROM !== undefined && { from: e.TWILIO_FROM }),
        ...(e.TWILIO_MESSAGING_SERVICE_SID !== undefined && {
          messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
        }),
        ...(e.TWILIO_VERIFY_SERVICE_SID !== undefined && { verifyServiceSid: e.TWILIO_VERIFY_SERVICE_SID }),
      },
    },
    storage: {
      provider: e.STORAGE_PROVIDER ?? 'fs',
      fsRoot: e.STORAGE_FS_ROOT,
      ...(e.S3_BUCKET !== undefined && { s3Bucket: e.S3_BUCKET }),
      s3ForcePathStyle: e.S3_FORCE_PATH_STYLE,
    },
    outbox: {
      enabled: e.EMAIL_QUEUE,
      driver: e.OUTBOX_DRIVER,
      path: e.OUTBOX_DB_PATH,
      maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
    },
    ...(region !== undefined && { awsRegion: region }),
    ...(e.BREAKER_TIMEOUT_MS !== undefined && { breakerTimeoutMs: e.BREAKER_TIMEOUT_MS }),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    maxElapsedMs: e.RETRY_MAX_ELAPSED_MS,
    jsonBodyLimitBytes: e.JSON_BODY_LIMIT_BYTES,
    fileBodyLimitBytes: e.FILE_BODY_LIMIT_BYTES,
  };
}
