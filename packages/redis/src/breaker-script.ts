import { type Counts, State } from '@tracks/breaker';

/**
 * @internal The one Lua script behind the distributed breaker: every operation (admit a call,
 * record an outcome, trip on a generation, read, isolate, reset) is one call of it, so each is
 * one atomic step in Redis and one round trip. It is the local breaker's state machine
 * (packages/breaker/src/circuit-breaker.ts and rolling-counts.ts) written a second time, over a
 * hash instead of fields:
 *
 * - `st` state (0 closed, 1 half-open, 2 open), `g` generation, `s` start, `e` expiry (-1: never),
 *   `iso` isolated, `req suc fai exc cs cf` the counts, `age` the current bucket, `ab` abandoned
 *   probe slots, `pr` in-flight probes as `id,startedAt,…` (only with a probeTimeout);
 * - `b<i>`: bucket i of a rolling window as `requests,successes,failures,exclusions,cs,cf`.
 *
 * Time is the caller's `now` (ARGV[2], whole ms), never Redis's TIME: an instance rejects locally
 * until the shared expiry by its own clock, so the expiry must be a reading of the same kind of
 * clock, and tests inject it. The settings travel with every call (ARGV[3..9]): nothing but state
 * is stored.
 *
 * Replies: `{code, st, g, s, e, iso, req, suc, fai, exc, cs, cf, extra, admitted, …tail}`. For
 * `admit` (of ARGV[10] calls at once), `code` is the first ticket (bucket age, or the first of
 * `admitted` consecutive probe ids), -1 (open) or -2 (every probe slot taken); `extra`: ms until
 * the oldest probe's slot frees, or -1, for the calls not admitted. For `record` (of a list of
 * outcomes), `code` is the number of closed-state failures counted and the tail holds
 * `generation, counts…` after each (7 numbers), so the caller asks its readyToTrip about each.
 * For `trip`, `code` 1 says this call opened the breaker.
 */
export const BREAKER_SCRIPT = `
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local maxRequests = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
local period = tonumber(ARGV[5])
local size = tonumber(ARGV[6])
local timeout = tonumber(ARGV[7])
local probeTimeout = tonumber(ARGV[8])
local ttl = tonumber(ARGV[9])

local CLOSED, HALF_OPEN, OPEN = 0, 1, 2
local NAMES = {'st', 'g', 's', 'e', 'iso', 'req', 'suc', 'fai', 'exc', 'cs', 'cf', 'age', 'ab', 'pr'}
local raw = redis.call('HMGET', key, unpack(NAMES))
local b = {}
for i = 1, 13 do b[NAMES[i]] = tonumber(raw[i]) or 0 end
b.pr = raw[14] or ''
local dirty = false

local function readBucket(i)
  local t = {0, 0, 0, 0, 0, 0}
  local v = redis.call('HGET', key, 'b' .. i)
  if v then
    local j = 1
    for n in string.gmatch(v, '[^,]+') do t[j] = tonumber(n); j = j + 1 end
  end
  return t
end

local function bump(age, change)
  if size <= 1 then return end
  local i = age % size
  local t = readBucket(i)
  change(t)
  redis.call('HSET', key, 'b' .. i, table.concat(t, ','))
end

local function clearCounts()
  b.req = 0; b.suc = 0; b.fai = 0; b.exc = 0; b.cs = 0; b.cf = 0; b.age = 0
  if size > 1 then
    local fields = {}
    for i = 0, size - 1 do
      fields[#fields + 1] = 'b' .. i
      if #fields == 1000 then redis.call('HDEL', key, unpack(fields)); fields = {} end
    end
    if #fields > 0 then redis.call('HDEL', key, unpack(fields)) end
  end
end

local function holds(age)
  return age <= b.age and b.age - age < size
end

local function onRequest()
  b.req = b.req + 1
  bump(b.age, function(t) t[1] = t[1] + 1 end)
  dirty = true
end

local function onSuccess(age)
  if not holds(age) then return end
  b.suc = b.suc + 1; b.cs = b.cs + 1; b.cf = 0
  bump(age, function(t) t[2] = t[2] + 1; t[5] = t[5] + 1; t[6] = 0 end)
  dirty = true
end

local function onFailure(age)
  if not holds(age) then return false end
  b.fai = b.fai + 1; b.cf = b.cf + 1; b.cs = 0
  bump(age, function(t) t[3] = t[3] + 1; t[6] = t[6] + 1; t[5] = 0 end)
  dirty = true
  return true
end

local function onExclusion(age)
  if not holds(age) then return end
  b.exc = b.exc + 1
  bump(age, function(t) t[4] = t[4] + 1 end)
  dirty = true
end

-- gobreaker's rollingCounts.roll: the oldest bucket leaves the window, and a consecutive run
-- loses its part in that bucket only if the run spans every newer bucket whole
local function roll()
  b.age = b.age + 1
  local i = b.age % size
  local o = readBucket(i)
  if b.cs == o[5] + b.suc - o[2] then b.cs = math.max(0, b.cs - o[5]) end
  if b.cf == o[6] + b.fai - o[3] then b.cf = math.max(0, b.cf - o[6]) end
  b.req = math.max(0, b.req - o[1])
  b.suc = math.max(0, b.suc - o[2])
  b.fai = math.max(0, b.fai - o[3])
  b.exc = math.max(0, b.exc - o[4])
  redis.call('HDEL', key, 'b' .. i)
end

local function grow(age)
  if age <= b.age then return end
  dirty = true
  if age - b.age >= size then
    clearCounts()
    b.age = age
    return
  end
  while b.age < age do roll() end
end

local function newGeneration()
  b.g = b.g + 1
  b.s = now
  clearCounts()
  b.ab = 0
  b.pr = ''
  if b.st == OPEN then b.e = now + timeout
  elseif b.st == CLOSED and interval > 0 and period == 0 then b.e = now + interval
  else b.e = -1 end
  dirty = true
end

local function setState(to)
  if b.st == to then return end
  b.st = to
  newGeneration()
end

-- the transitions time makes, applied lazily, as the local breaker's #current
local function current()
  if b.st == CLOSED then
    if b.e >= 0 and now >= b.e then newGeneration()
    elseif period > 0 then grow(math.max(math.floor((now - b.s) / period), 0)) end
  elseif b.st == OPEN and b.iso == 0 and now >= b.e then
    setState(HALF_OPEN)
  end
end

local function probes()
  local p = {}
  for n in string.gmatch(b.pr, '[^,]+') do p[#p + 1] = tonumber(n) end
  return p
end

local function setProbes(p)
  b.pr = table.concat(p, ',')
  dirty = true
end

-- true if the probe still holds its slot (and gives it back); false if it was abandoned
local function releaseProbe(id)
  if probeTimeout <= 0 then return true end
  local p = probes()
  for i = 1, #p, 2 do
    if p[i] == id then
      table.remove(p, i); table.remove(p, i)
      setProbes(p)
      return true
    end
  end
  return false
end

if raw[1] == false then
  -- a new (or expired) key: generations start at the clock so that results of calls admitted
  -- under a key that has since expired never match the new one
  b.st = CLOSED
  b.g = now
  newGeneration()
end

local code, extra, admitted = 0, -1, 0
local tail = {}
if op == 'admit' then
  -- ARGV[10] calls asking at once (an instance coalesces the calls of one tick): all admitted
  -- in one bucket while closed; while half-open, as many as there are free probe slots
  local n = tonumber(ARGV[10])
  current()
  if b.st == CLOSED then
    code = b.age
    admitted = n
    b.req = b.req + n - 1
    onRequest()
    if size > 1 and n > 1 then bump(b.age, function(t) t[1] = t[1] + n - 1 end) end
  elseif b.st == OPEN then
    code = -1
  else
    local p = probes()
    for _ = 1, n do
      local busy = b.req - b.exc - b.ab >= maxRequests
      if busy and probeTimeout > 0 and #p > 0 and now - p[2] >= probeTimeout then
        -- the oldest probe outlived probeTimeout: its slot is given to this call
        table.remove(p, 1); table.remove(p, 1)
        b.ab = b.ab + 1
        busy = false
      end
      if busy then break end
      if admitted == 0 then code = b.req end
      admitted = admitted + 1
      if probeTimeout > 0 then
        p[#p + 1] = b.req
        p[#p + 1] = now
      end
      onRequest()
    end
    if probeTimeout > 0 then setProbes(p) end
    if admitted < n and probeTimeout > 0 and #p > 0 then
      extra = math.max(0, math.ceil(p[2] + probeTimeout - now))
    end
    if admitted == 0 then code = -2 end
  end
elseif op == 'record' then
  -- ARGV[10] outcomes as (generation, ticket, outcome) from ARGV[11], applied in order; each
  -- closed-state failure counted appends its generation and the counts after it to the reply,
  -- for the caller's readyToTrip
  local m = tonumber(ARGV[10])
  current()
  for k = 0, m - 1 do
    local generation = tonumber(ARGV[11 + 3 * k])
    local ticket = tonumber(ARGV[12 + 3 * k])
    local outcome = ARGV[13 + 3 * k]
    -- results from an older generation are ignored: the window they counted toward is gone
    if generation == b.g then
      if outcome == 's' then
        if b.st == CLOSED then onSuccess(ticket)
        elseif b.st == HALF_OPEN and releaseProbe(ticket) then
          onSuccess(0)
          if b.cs >= maxRequests then setState(CLOSED) end
        end
      elseif outcome == 'e' then
        if b.st == CLOSED then onExclusion(ticket)
        elseif b.st == HALF_OPEN and releaseProbe(ticket) then onExclusion(0) end
      else
        if b.st == CLOSED then
          if onFailure(ticket) then
            code = code + 1
            for _, v in ipairs({b.g, b.req, b.suc, b.fai, b.exc, b.cs, b.cf}) do tail[#tail + 1] = v end
          end
        elseif b.st == HALF_OPEN and releaseProbe(ticket) then
          setState(OPEN)
        end
      end
    end
  end
elseif op == 'trip' then
  -- compare-and-set on the generation: of the instances whose readyToTrip said yes for this
  -- window, the first opens the breaker and the others find it open already
  local generation = tonumber(ARGV[10])
  current()
  if b.st == CLOSED and b.g == generation then
    setState(OPEN)
    code = 1
  end
elseif op == 'isolate' then
  setState(OPEN)
  b.iso = 1
  dirty = true
elseif op == 'reset' then
  b.iso = 0
  if b.st == CLOSED then newGeneration() else setState(CLOSED) end
else
  current()
end

if dirty then
  -- only the fields that changed: a closed-state admission writes one
  local changed = {}
  for i = 1, 14 do
    local name = NAMES[i]
    local was = raw[i]
    if i < 14 then was = tonumber(was) end
    if b[name] ~= was then
      changed[#changed + 1] = name
      changed[#changed + 1] = b[name]
    end
  end
  if #changed > 0 then redis.call('HSET', key, unpack(changed)) end
end
redis.call('PEXPIRE', key, ttl)
local reply = {code, b.st, b.g, b.s, b.e, b.iso, b.req, b.suc, b.fai, b.exc, b.cs, b.cf, extra, admitted}
for _, v in ipairs(tail) do reply[#reply + 1] = v end
return reply
`;

/** @internal The operations of {@link BREAKER_SCRIPT}. */
export type BreakerOperation = 'admit' | 'record' | 'trip' | 'read' | 'isolate' | 'reset';

/** @internal A decoded reply of {@link BREAKER_SCRIPT}. */
export interface BreakerReply {
  readonly code: number;
  readonly state: State;
  readonly generation: number;
  readonly start: number;
  /** -1: never. */
  readonly expiry: number;
  readonly isolated: boolean;
  readonly requests: number;
  readonly totalSuccesses: number;
  readonly totalFailures: number;
  readonly totalExclusions: number;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly extra: number;
  readonly admitted: number;
  /** For `record`: generation and counts after each closed-state failure. */
  readonly failures: readonly (Counts & { readonly generation: number })[];
}

const STATES: readonly State[] = [State.Closed, State.HalfOpen, State.Open];

/** @internal Decodes a reply; throws a `TypeError` for anything else (a wrong script, a proxy that mangles replies). */
export function decodeReply(reply: unknown): BreakerReply {
  if (
    !Array.isArray(reply) ||
    reply.length < 14 ||
    (reply.length - 14) % 7 !== 0 ||
    !reply.every((n) => typeof n === 'number')
  ) {
    throw new TypeError(`unexpected reply from the breaker script: ${JSON.stringify(reply)}`);
  }
  const r = reply as number[];
  const state = STATES[r[1]!];
  if (state === undefined) throw new TypeError(`unexpected breaker state ${r[1]} in Redis`);
  return {
    code: r[0]!,
    state,
    generation: r[2]!,
    start: r[3]!,
    expiry: r[4]!,
    isolated: r[5] === 1,
    requests: r[6]!,
    totalSuccesses: r[7]!,
    totalFailures: r[8]!,
    totalExclusions: r[9]!,
    consecutiveSuccesses: r[10]!,
    consecutiveFailures: r[11]!,
    extra: r[12]!,
    admitted: r[13]!,
    failures: Array.from({ length: (r.length - 14) / 7 }, (_, i) => {
      const at = 14 + 7 * i;
      return {
        generation: r[at]!,
        requests: r[at + 1]!,
        totalSuccesses: r[at + 2]!,
        totalFailures: r[at + 3]!,
        totalExclusions: r[at + 4]!,
        consecutiveSuccesses: r[at + 5]!,
        consecutiveFailures: r[at + 6]!,
      };
    }),
  };
}
