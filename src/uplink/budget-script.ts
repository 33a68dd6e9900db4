/**
 * The company budget's decisions, made atomically inside Redis by one Lua script
 * (docs/rate-budget.md#several-gateways). Time is Redis's own (`TIME`), never a gateway's:
 * the gateways' clocks may disagree by seconds.
 *
 * Keys, all under `sfg:{<key>}:` (one hash slot):
 * - `sends`    zset: every send of every gateway (member `<gateway>:<n>`) → its time, moved
 *              to its answer time once answered; the window is the last span of it
 * - `seen`     zset: gateway → its last call; live within LAPSE, its fallback share reserved
 *              within RESERVE, a trickle of 1 within FORGET, then forgotten
 * - `gateways` hash: gateway → its fallback share (prodsmart.requestsPerMinute)
 * - `demand`   hash: gateway → its machines with work waiting
 * - `pace`     hash: `<gateway>|tok`, `<gateway>|at`: its share as a bucket of sends, and when it was filled
 * - `state`    hash: `epoch` (set once: its absence means an empty Redis), `grace`, `next`
 *              (the company spacing), `pause` (a 429's Retry-After), `seq`
 *
 * Operations (ARGV[1]), each answering `{status, waitMs, member, used, limit, gateways, share, pauseMs, reserved, away, fallbacks}`:
 * - `join`     registers the gateway with its sends of the last span (ages in ms, from its
 *              request log, replacing what Redis had of it), its fallback share and any 429
 *              pause it saw while away; it counts as lapsed (its fallback share kept free)
 *              until its next call
 * - `beat`     refreshes the gateway's demand and liveness; `join` when Redis does not know it
 * - `acquire`  grants a send now (`granted`, with the member to answer) or says how long to wait
 * - `answered` moves a send to its answer time (the MES counted it somewhere in between)
 * - `pause`    a 429: no gateway sends before Redis's now + ms
 * - `leave`    a gateway stopping cleanly: its share is not reserved
 */

/** Demand and liveness expire after this without a call: a dead gateway loses its share within seconds. */
export const LAPSE_MS = 3_000;
/**
 * A lapsed gateway's fallback share is kept out of the company's figure for this long (it may
 * be cut off from Redis and sending on its fallback share; Redis cannot tell that from a
 * crash); then only a trickle of 1/min, what a cut-off gateway still sends by then
 * (shared-budget.ts), until FORGET_MS (docs/rate-budget.md#one-gateway-cut-off).
 */
export const RESERVE_MS = 15 * 60_000;
/** A lapsed gateway is forgotten this long after its last call; a cut-off one stops sending before. */
export const FORGET_MS = 7 * 24 * 60 * 60_000;
/** After Redis came back empty, nothing is granted for this long: every gateway re-registers its sends first. */
export const GRACE_MS = 3_000;

export const BUDGET_LUA = `
local sends, seen, gateways, demand, pace, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local op, gw = ARGV[1], ARGV[2]
local span, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local lapse, reserve, grace, forgetAfter = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local BURST = 2
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function num(v) return tonumber(v) or 0 end
local function forget(g)
  redis.call('ZREM', seen, g)
  redis.call('HDEL', gateways, g)
  redis.call('HDEL', demand, g)
  redis.call('HDEL', pace, g .. '|tok', g .. '|at')
end

if redis.call('HEXISTS', state, 'epoch') == 0 then
  redis.call('HSET', state, 'epoch', now, 'grace', now + grace, 'next', 0, 'pause', 0)
end
for _, g in ipairs(redis.call('ZRANGEBYSCORE', seen, '-inf', now - forgetAfter)) do forget(g) end
redis.call('ZREMRANGEBYSCORE', sends, '-inf', now - span)

local function pauseAtLeast(ms)
  if ms > 0 and now + ms > num(redis.call('HGET', state, 'pause')) then redis.call('HSET', state, 'pause', now + ms) end
end

if op == 'leave' then
  forget(gw)
  return {'ok', 0, '', 0, 0, 0, 0, 0, 0, 0, 0}
elseif op == 'answered' then
  redis.call('ZADD', sends, 'XX', 'GT', now, ARGV[9])
  return {'ok', 0, '', 0, 0, 0, 0, 0, 0, 0, 0}
elseif op == 'pause' then
  pauseAtLeast(num(ARGV[9]))
  return {'ok', 0, '', 0, 0, 0, 0, 0, 0, 0, 0}
elseif op == 'join' then
  local prefix = gw .. ':'
  for _, m in ipairs(redis.call('ZRANGE', sends, 0, -1)) do
    if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', sends, m) end
  end
  local latest = nil
  for i = 11, #ARGV do
    local at = now - num(ARGV[i])
    if at > now - span then
      redis.call('ZADD', sends, at, prefix .. redis.call('HINCRBY', state, 'seq', 1))
      if latest == nil or at > latest then latest = at end
    end
  end
  if latest ~= nil then
    local after = latest + math.ceil(span / limit)
    if after > num(redis.call('HGET', state, 'next')) then redis.call('HSET', state, 'next', after) end
  end
  redis.call('HSET', gateways, gw, num(ARGV[9]))
  redis.call('HSET', demand, gw, 0)
  redis.call('HSET', pace, gw .. '|tok', 1, gw .. '|at', now)
  pauseAtLeast(num(ARGV[10]))
elseif redis.call('HEXISTS', gateways, gw) == 0 then
  return {'join', 0, '', 0, 0, 0, 0, 0, 0, 0, 0}
else
  redis.call('HSET', demand, gw, num(ARGV[9]))
end
-- A join does not make the gateway live: its answer may never reach it (a link that answers
-- late), and then it sends on its fallback share. Lapsed, its fallback share is kept free
-- until a call after a join it heard (beat, acquire).
if op == 'join' then redis.call('ZADD', seen, now - lapse, gw) else redis.call('ZADD', seen, now, gw) end

local live = redis.call('ZRANGEBYSCORE', seen, '(' .. (now - lapse), '+inf')
local reserved, away = 0, 0
local lapsed = redis.call('ZRANGEBYSCORE', seen, '-inf', now - lapse, 'WITHSCORES')
for i = 1, #lapsed, 2 do
  local g = lapsed[i]
  if g ~= gw then
    local kept = num(redis.call('HGET', gateways, g))
    if tonumber(lapsed[i + 1]) <= now - reserve then kept = math.min(1, kept) end
    reserved = reserved + kept
    away = away + 1
  end
end
local effective = math.max(1, limit - reserved)
local total = 0
for _, g in ipairs(live) do total = total + num(redis.call('HGET', demand, g)) end
local mine = num(redis.call('HGET', demand, gw))
local share = 0
if total > 0 then share = math.floor(effective * mine / total + 0.5) end
local used = redis.call('ZCOUNT', sends, '(' .. (now - 60000), '+inf')
local pauseLeft = math.max(0, num(redis.call('HGET', state, 'pause')) - now)
-- Every known gateway's fallback share (live, lapsed or trickling): with Redis gone for all, what they may send together.
local fallbacks = 0
for _, v in ipairs(redis.call('HVALS', gateways)) do fallbacks = fallbacks + num(v) end

-- This gateway's share as a bucket of at most BURST sends, refilled at its share of the rate
-- (interval = spacing * everyone's demand / its demand): a demand that changes changes the
-- refill from now on, and a poll that comes a little late loses nothing.
local spacing = math.ceil(span / effective)
local interval = spacing * total / math.max(mine, 1)
local saved = redis.call('HMGET', pace, gw .. '|tok', gw .. '|at')
local tok = tonumber(saved[1]) or 1
if mine > 0 then tok = math.min(BURST, tok + (now - (tonumber(saved[2]) or now)) / interval) end
redis.call('HSET', pace, gw .. '|tok', tok, gw .. '|at', now)
if op ~= 'acquire' then return {'ok', 0, '', used, effective, #live, share, pauseLeft, reserved, away, fallbacks} end

local function ownWait(k) if k >= 1 then return 0 end return (1 - k) * interval end
local nextAt = num(redis.call('HGET', state, 'next'))
local n = redis.call('ZCARD', sends)
local window = 0
if n >= effective then
  local oldest = redis.call('ZRANGE', sends, n - effective, n - effective, 'WITHSCORES')
  window = num(oldest[2]) + span - now
end
local wait = math.max(pauseLeft, num(redis.call('HGET', state, 'grace')) - now, window, nextAt - now, ownWait(tok))
if wait > 0 then return {'wait', math.ceil(wait), '', used, effective, #live, share, pauseLeft, reserved, away, fallbacks} end
nextAt = math.max(nextAt, now) + spacing
tok = tok - 1
redis.call('HSET', state, 'next', nextAt)
redis.call('HSET', pace, gw .. '|tok', tok)
local member = gw .. ':' .. redis.call('HINCRBY', state, 'seq', 1)
redis.call('ZADD', sends, now, member)
return {'granted', math.ceil(math.max(nextAt - now, ownWait(tok))), member, used + 1, effective, #live, share, 0, reserved, away, fallbacks}
`;

export type BudgetOp = 'join' | 'beat' | 'acquire' | 'answered' | 'pause' | 'leave';

export interface BudgetReply {
  status: 'ok' | 'join' | 'wait' | 'granted';
  /** acquire: how long until a send may be granted; granted: until this gateway's next one. */
  waitMs: number;
  /** A granted send's member in `sends`, to mark it answered. */
  member: string;
  /** The company's sends of the last 60 s, by Redis's clock. */
  used: number;
  /** The company figure less the fallback shares kept for gateways whose heartbeat lapsed. */
  limit: number;
  gateways: number;
  /** This gateway's part of `limit` now, by its demand against everyone's. */
  share: number;
  pauseMs: number;
  /** The fallback shares (past the reserve: 1 each) kept out of `limit` for the other gateways whose heartbeat lapsed. */
  reserved: number;
  /** How many gateways those are (not heard from within the lapse, nor forgotten). */
  away: number;
  /** The fallback shares of every gateway Redis knows, summed: with Redis gone for all, what they may send in a minute. */
  fallbacks: number;
}

export function budgetKeys(key: string): string[] {
  return ['sends', 'seen', 'gateways', 'demand', 'pace', 'state'].map((k) => `sfg:{${key}}:${k}`);
}

export function parseReply(raw: unknown): BudgetReply {
  if (!Array.isArray(raw) || raw.length !== 11) throw new TypeError(`unexpected budget script reply: ${JSON.stringify(raw)}`);
  const [status, waitMs, member, used, limit, gateways, share, pauseMs, reserved, away, fallbacks] = raw as unknown[];
  return {
    status: String(status) as BudgetReply['status'],
    waitMs: Number(waitMs),
    member: String(member),
    used: Number(used),
    limit: Number(limit),
    gateways: Number(gateways),
    share: Number(share),
    pauseMs: Number(pauseMs),
    reserved: Number(reserved),
    away: Number(away),
    fallbacks: Number(fallbacks),
  };
}
