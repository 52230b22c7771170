import type { OtpAttemptOutcome, OtpIssueLimits, OtpIssueOutcome, OtpRecord, OtpStore } from '@tracks/sms';
import { defineScript, type RedisClient } from './redis-client.js';

/** Options of {@link RedisOtpStore}. */
export interface RedisOtpStoreOptions {
  /**
   * Prefix of the keys, one per phone number (`tracks:otp:+14155552671`).
   * @default 'tracks:otp:'
   */
  prefix?: string;
}

/** The default key prefix of {@link RedisOtpStore}. */
export const OTP_KEY_PREFIX = 'tracks:otp:';

// One hash per number: `id h exp att` the live code (id, HMAC, expiry, checks so far), `iss` the
// issue history as `issuedAt|id,…` oldest first. Times are the service's `now` (ARGV), never
// Redis's clock; the key's TTL only collects what nobody needs any more. Times are kept as the
// strings they arrived as: Lua's tostring() would round them to 14 digits.
const ISSUE = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[6])
local maxPerWindow = tonumber(ARGV[7])
local windowMs = tonumber(ARGV[8])
local kept = {}
for entry in string.gmatch(redis.call('HGET', key, 'iss') or '', '[^,]+') do
  if tonumber(string.match(entry, '^[^|]+')) > now - windowMs then kept[#kept + 1] = entry end
end
if #kept > 0 then
  local newest = tonumber(string.match(kept[#kept], '^[^|]+'))
  if newest + cooldown > now then return {0, 'cooldown', math.ceil(newest + cooldown - now)} end
  if #kept >= maxPerWindow then
    local oldest = tonumber(string.match(kept[1], '^[^|]+'))
    return {0, 'hourly-limit', math.ceil(oldest + windowMs - now)}
  end
end
kept[#kept + 1] = ARGV[4] .. '|' .. ARGV[2]
redis.call('HSET', key, 'id', ARGV[2], 'h', ARGV[3], 'exp', ARGV[5], 'att', 0, 'iss', table.concat(kept, ','))
local keep = math.max(tonumber(ARGV[5]), tonumber(ARGV[4]) + windowMs) - now
redis.call('PEXPIRE', key, math.max(1, math.ceil(keep)))
return {1}
`;

const ATTEMPT = `
local key = KEYS[1]
local code = redis.call('HMGET', key, 'id', 'h', 'exp', 'att')
if not code[1] then return {0} end
if tonumber(code[3]) <= tonumber(ARGV[2]) then
  redis.call('HDEL', key, 'id', 'h', 'exp', 'att')
  return {0}
end
if tonumber(code[4]) >= tonumber(ARGV[1]) then return {1} end
return {2, code[1], code[2], redis.call('HINCRBY', key, 'att', 1)}
`;

const CONSUME = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'id', 'h', 'exp', 'att')
return 1
`;

const WITHDRAW = `
local key = KEYS[1]
local id = ARGV[1]
if redis.call('HGET', key, 'id') == id then redis.call('HDEL', key, 'id', 'h', 'exp', 'att') end
local kept = {}
for entry in string.gmatch(redis.call('HGET', key, 'iss') or '', '[^,]+') do
  if string.match(entry, '|(.*)$') ~= id then kept[#kept + 1] = entry end
end
if #kept > 0 then redis.call('HSET', key, 'iss', table.concat(kept, ','))
elseif redis.call('HEXISTS', key, 'id') == 1 then redis.call('HDEL', key, 'iss')
else redis.call('DEL', key) end
return 1
`;

// ids and hashes travel inside the `iss` list and the hash: no separators in them
const ID = /^[\w-]{1,128}$/;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * An `OtpStore` for `OtpService` (`@tracks/sms`) on Redis, so that a code sent by one instance
 * verifies on any other. Each method is one Lua script, so each is atomic across instances: a
 * guess on instance A and one on instance B both count, and the check after `maxAttempts`
 * fails wherever it lands; of two concurrent right guesses one consumes the code.
 *
 * Stores only what the service hands it — the code's HMAC, never the code — under
 * `tracks:otp:<E.164 number>`, with a TTL of `max(expiresAt, newest issue + window) - now`.
 *
 * @example
 * const otp = new OtpService({ secret: process.env.OTP_SECRET!, store: new RedisOtpStore(redis) });
 */
export class RedisOtpStore implements OtpStore {
  readonly #prefix: string;
  readonly #issue: Script;
  readonly #attempt: Script;
  readonly #consume: Script;
  readonly #withdraw: Script;

  constructor(redis: RedisClient, options: RedisOtpStoreOptions = {}) {
    if (typeof redis?.defineCommand !== 'function')
      throw new TypeError('RedisOtpStore needs an ioredis client');
    const prefix = options.prefix ?? OTP_KEY_PREFIX;
    if (typeof prefix !== 'string') throw new TypeError('RedisOtpStore: prefix must be a string');
    this.#prefix = prefix;
    this.#issue = defineScript(redis, 'tracksOtpIssueV1', ISSUE);
    this.#attempt = defineScript(redis, 'tracksOtpAttemptV1', ATTEMPT);
    this.#consume = defineScript(redis, 'tracksOtpConsumeV1', CONSUME);
    this.#withdraw = defineScript(redis, 'tracksOtpWithdrawV1', WITHDRAW);
  }

  /** {@inheritDoc OtpStore.issue} */
  async issue(key: string, record: OtpRecord, limits: OtpIssueLimits, now: number): Promise<OtpIssueOutcome> {
    checkId(record.id);
    checkId(record.hash);
    const reply = (await this.#issue(
      this.#prefix + key,
      now,
      record.id,
      record.hash,
      record.issuedAt,
      record.expiresAt,
      limits.cooldownMs,
      limits.maxPerWindow,
      limits.windowMs,
    )) as [number, string?, number?];
    if (reply[0] === 1) return { ok: true };
    return { ok: false, reason: reply[1] as 'cooldown' | 'hourly-limit', retryAfterMs: reply[2] ?? 0 };
  }

  /** {@inheritDoc OtpStore.attempt} */
  async attempt(key: string, maxAttempts: number, now: number): Promise<OtpAttemptOutcome> {
    const reply = (await this.#attempt(this.#prefix + key, maxAttempts, now)) as [
      number,
      string?,
      string?,
      number?,
    ];
    if (reply[0] === 0) return { status: 'expired' };
    if (reply[0] === 1) return { status: 'too-many-attempts' };
    return { status: 'counted', id: reply[1] ?? '', hash: reply[2] ?? '', attempts: reply[3] ?? 0 };
  }

  /** {@inheritDoc OtpStore.consume} */
  async consume(key: string, id: string): Promise<boolean> {
    return (await this.#consume(this.#prefix + key, id)) === 1;
  }

  /** {@inheritDoc OtpStore.withdraw} */
  async withdraw(key: string, id: string): Promise<void> {
    await this.#withdraw(this.#prefix + key, id);
  }
}

function checkId(value: string): void {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new TypeError(`RedisOtpStore: ids and hashes must be 1 to 128 letters, digits, "_" or "-"`);
  }
}
