// One instance of an app, in its own Node process, for the multi-process tests: it shares one
// distributed breaker and one OTP store with its siblings through Redis, and does what the
// parent tells it over IPC. The parent owns the clock: each message carries `now`.
import { consecutiveFailures, isOpenStateError, isTooManyRequestsError } from '@tracks/breaker';
import { OtpService } from '@tracks/sms';
import { Redis } from 'ioredis';
import { createDistributedBreaker, type DistributedCircuitBreaker } from '../distributed-breaker.js';
import { RedisOtpStore } from '../redis-otp-store.js';

/** A message from the parent. */
export type ChildCommand =
  | {
      op: 'setup';
      port: number;
      name: string;
      trip: number;
      maxRequests: number;
      timeout: number;
      secret: string;
    }
  | { op: 'run'; now: number; outcomes: ('ok' | 'fail')[] }
  | { op: 'hold'; now: number; calls: number }
  | { op: 'release'; now: number }
  | { op: 'state'; now: number }
  | { op: 'verify'; now: number; phone: string; codes: string[] }
  | { op: 'exit' };

/** What a `run`, `hold` or `release` reports: how each call ended. */
export interface RunReport {
  /** Calls whose function ran (the provider was called). */
  invoked: number;
  ok: number;
  failed: number;
  open: number;
  busy: number;
}

let now = 0;
let redis: Redis | undefined;
let breaker: DistributedCircuitBreaker | undefined;
let otp: OtpService | undefined;
let held: { release: () => void; result: Promise<void> }[] = [];
let report: RunReport = emptyReport();

function emptyReport(): RunReport {
  return { invoked: 0, ok: 0, failed: 0, open: 0, busy: 0 };
}

function classify(error: unknown): void {
  if (isOpenStateError(error)) report.open++;
  else if (isTooManyRequestsError(error)) report.busy++;
  else report.failed++;
}

function send(message: unknown): void {
  process.send?.(message);
}

async function handle(command: ChildCommand): Promise<unknown> {
  if ('now' in command) now = command.now;
  switch (command.op) {
    case 'setup': {
      redis = new Redis({ port: command.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      breaker = createDistributedBreaker(redis, {
        name: command.name,
        maxRequests: command.maxRequests,
        timeout: command.timeout,
        readyToTrip: consecutiveFailures(command.trip),
        storeTimeout: 2_000,
        now: () => now,
      });
      otp = new OtpService({ secret: command.secret, store: new RedisOtpStore(redis), now: () => now });
      return 'ready';
    }
    case 'run': {
      report = emptyReport();
      for (const outcome of command.outcomes) {
        await breaker!
          .execute(() => {
            report.invoked++;
            return outcome === 'ok' ? 'ok' : Promise.reject(new Error('provider down'));
          })
          .then(() => report.ok++, classify);
      }
      return report;
    }
    case 'hold': {
      // calls that stay in flight until 'release': admitted ones hold a half-open slot meanwhile
      report = emptyReport();
      let decided = 0;
      await new Promise<void>((resolve) => {
        for (let i = 0; i < command.calls; i++) {
          let release!: () => void;
          const gate = new Promise<void>((r) => {
            release = r;
          });
          const result = breaker!
            .execute(() => {
              report.invoked++;
              if (++decided === command.calls) resolve();
              return gate.then(() => 'ok');
            })
            .then(
              () => {
                report.ok++;
              },
              (error: unknown) => {
                classify(error);
                if (++decided === command.calls) resolve();
              },
            );
          held.push({ release, result });
        }
      });
      return { ...report };
    }
    case 'release': {
      for (const h of held) h.release();
      await Promise.all(held.map((h) => h.result));
      held = [];
      return report;
    }
    case 'state':
      return breaker!.refresh();
    case 'verify': {
      const results = await Promise.all(command.codes.map((code) => otp!.verify(command.phone, code)));
      return results;
    }
    case 'exit':
      redis?.disconnect();
      setImmediate(() => process.disconnect?.());
      return 'bye';
  }
}

process.on('message', (command: ChildCommand & { id: number }) => {
  handle(command).then(
    (result) => send({ id: command.id, result }),
    (error: unknown) => send({ id: command.id, error: String(error) }),
  );
});
