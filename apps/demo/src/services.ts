import type { Readable } from 'node:stream';
import type { CircuitBreaker, Policy, State } from '@tracks/breaker';
import type { ServiceName } from './faults.js';
import type { EmailOutbox } from './outbox-wiring.js';

/** One provider of one family, as wired: its breaker and the policy its calls run through. */
export interface ProviderHandle {
  readonly service: ServiceName;
  readonly provider: string;
  /** The provider's own breaker, named `<family>:<provider>`. */
  readonly breaker: CircuitBreaker;
  readonly policy: Policy | undefined;
  /** True for the provider the fault layer targets by default (the primary). */
  readonly primary: boolean;
}

/** What `POST /api/email` sends. */
export interface EmailInput {
  readonly to: string[];
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
}

/** The email service as the routes see it: validation, resilience and failover inside. */
export interface EmailService {
  send(input: EmailInput, signal?: AbortSignal): Promise<EmailSent | EmailQueued>;
}

/** A mail the provider accepted. */
export interface EmailSent {
  readonly provider: string;
  readonly messageId: string;
}

/** A mail stored in the outbox because the provider could not take it now. */
export interface EmailQueued {
  readonly queued: true;
  /** The outbox job's id (`GET /api/outbox`, `POST /api/outbox/:id/retry`). */
  readonly id: string;
}

/** The SMS service as the routes see it. */
export interface SmsService {
  sendMessage(
    to: string,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ provider: string; messageId: string; segments: number }>;
  sendOtp(phone: string, signal?: AbortSignal): Promise<{ provider: string; expiresAt?: Date }>;
  verifyOtp(
    phone: string,
    code: string,
    signal?: AbortSignal,
  ): Promise<{ valid: true } | { valid: false; reason: string }>;
}

/** A stored file, as `GET /api/files/:key` streams it. */
export interface StoredFile {
  readonly body: Readable;
  readonly contentType?: string;
  readonly size?: number;
  readonly etag?: string;
}

/** The storage service as the routes see it. */
export interface StorageService {
  put(
    key: string,
    body: Uint8Array,
    contentType: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ key: string; size: number; etag?: string }>;
  get(key: string, signal?: AbortSignal): Promise<StoredFile | null>;
  delete(key: string, signal?: AbortSignal): Promise<void>;
}

/** Every wired service. A family whose package is not wired is absent and its routes answer 501. */
export interface Services {
  readonly email?: EmailService;
  readonly sms?: SmsService;
  readonly storage?: StorageService;
  readonly providers: readonly ProviderHandle[];
  /** The email outbox, unless `EMAIL_QUEUE=off`. */
  readonly outbox?: EmailOutbox;
  /** Stops the outbox (its deliveries in flight settle), then closes every adapter (pooled SMTP connections, SDK clients). */
  close(): Promise<void>;
}

/** A breaker as `GET /api/breakers` lists it. */
export interface BreakerView {
  readonly name: string;
  readonly service: ServiceName;
  readonly provider: string;
  readonly state: State;
  readonly counts: CircuitBreaker['counts'];
  /** For an open breaker: ms until it admits a probe. */
  readonly retryAfterMs?: number;
}
