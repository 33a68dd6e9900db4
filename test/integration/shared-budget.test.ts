/**
 * The company budget through a real redis-server (docs/rate-budget.md#several-gateways):
 * the Lua script's decisions by Redis's clock, and each gateway's switch to its fallback
 * share and back. Spans are shortened (a few seconds instead of 62 s) so a test sees many
 * windows; the rules do not depend on the length.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { connectBudgetRedis, type BudgetRedis } from '../../src/uplink/budget-redis.js';
import { budgetKeys } from '../../src/uplink/budget-script.js';
import { SharedBudget, type SharedBudgetTiming } from '../../src/uplink/shared-budget.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { SkewedClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/wait.js';

const defer = deferCleanup();
const KEY = 'acme';
const keys = budgetKeys(KEY);
const SENDS = keys[0];
const STATE = keys[5];

interface Gateway {
  id: string;
  budget: SharedBudget;
  /** The request log: every send this gateway made, by its own clock. */
  sends: number[];
  demand: number;
  /** While true, every Redis call of this gateway fails, as if the network to Redis were cut. */
  cut: boolean;
  log: ReturnType<typeof recordingLogger>;
}

function gateway(
  redis: RedisServer,
  o: {
    id: string;
    company: number;
    fallback?: number;
    demand?: number;
    clock?: Clock;
    timing?: Partial<SharedBudgetTiming>;
    commandTimeoutMs?: number;
    /** Instead of the server's own URL (e.g. with a wrong password). */
    url?: string;
  },
): Gateway {
  const clock = o.clock ?? systemClock;
  const log = recordingLogger();
  const g = { id: o.id, sends: [] as number[], demand: o.demand ?? 1, cut: false, log } as unknown as Gateway;
  // A reserve long enough that the fallback share is not cut down to its trickle here (see 'a gateway cut off for long').
  const timing = { spanMs: 2_000, lapseMs: 600, graceMs: 600, reserveMs: 60_000, forgetMs: 120_000, beatMs: 200, ...o.timing };
  g.budget = new SharedBudget({
    key: KEY,
    redisShown: `redis://127.0.0.1:${redis.port}`,
    companyPerMinute: o.company,
    fallbackPerMinute: o.fallback ?? 10,
    clock,
    logger: log.logger,
    connect: async () => {
      const real = await connectBudgetRedis({
        url: o.url ?? redis.url,
        key: KEY,
        gateway: o.id,
        spanMs: timing.spanMs,
        limit: o.company,
        lapseMs: timing.lapseMs,
        reserveMs: timing.reserveMs,
        graceMs: timing.graceMs,
        forgetMs: timing.forgetMs,
        commandTimeoutMs: o.commandTimeoutMs,
      });
      const cuttable: BudgetRedis = {
        run: (op, args) => (g.cut ? Promise.reject(Object.assign(new Error('cut'), { code: 'SFG_BUDGET_UNREACHABLE' })) : real.run(op, args)),
        close: () => real.close(),
      };
      return cuttable;
    },
    recentSends: (from) => g.sends.filter((t) => t >= from),
    demand: () => g.demand,
    timing,
  });
  defer(() => g.budget.stop());
  return g;
}

/** Takes a slot, recording the send as request_log would, and answers it at once (or returns the answer to call later). */
async function send(g: Gateway, clock: Clock = systemClock, answer: 'now' | 'later' | 'never' = 'now'): Promise<() => void> {
  const answered = await g.budget.acquire();
  g.sends.push(clock.now());
  if (answer === 'now') answered();
  return answered;
}

/**
 * Redis's view of the window, polled until `stop`: every send member → its latest score (its
 * answer time once answered) in `seen`, and the first score seen (its grant) in `granted`.
 */
function watchSends(client: Redis): { seen: Map<string, number>; granted: Map<string, number>; stop: () => Promise<void> } {
  const seen = new Map<string, number>();
  const granted = new Map<string, number>();
  let running = true;
  const read = async () => {
    const flat = await client.zrange(SENDS, '0', '-1', 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) {
      seen.set(flat[i], Math.max(seen.get(flat[i]) ?? 0, Number(flat[i + 1])));
      if (!granted.has(flat[i])) granted.set(flat[i], Number(flat[i + 1]));
    }
  };
  const loop = (async () => {
    while (running) {
      await read();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    granted,
    stop: async () => {
      running = false;
      await loop;
      await read();
    },
  };
}

/** The most sends any half-open window of `span` ms holds. */
function busiestWindow(times: number[], span: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j] <= sorted[i] - span) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

async function startRedis(): Promise<{ server: RedisServer; client: Redis }> {
  const server = await startRedisServer();
  defer(server.cleanup);
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  // The tests kill and restart the server; this client just reconnects.
  client.on('error', () => undefined);
  defer(() => client.disconnect());
  return { server, client };
}

describe('the company window in Redis', () => {
  it('never holds more than the company figure, evenly spaced, with 4 gateways acquiring in parallel and their clocks 40 s apart', async () => {
    const { server, client } = await startRedis();
    const company = 20;
    const skewed = [0, 40_000, -40_000, 7_000].map((skew) => Object.assign(new SkewedClock(), { skew }));
    const gateways = skewed.map((clock, i) => gateway(server, { id: `gw${i}`, company, demand: 5, clock }));
    const watch = watchSends(client);
    const deadline = Date.now() + 6_000;
    // 3 parallel acquirers per gateway, as the uploader's concurrency allows; bounded by time and count.
    await Promise.all(
      gateways.flatMap((g, i) =>
        [0, 1, 2].map(async () => {
          // Unanswered, so that each member's score stays its grant time for the spacing check.
          for (let n = 0; n < 100 && Date.now() < deadline; n++) await send(g, skewed[i], 'never');
        }),
      ),
    );
    await watch.stop();
    const times = [...watch.seen.values()];
    const total = gateways.reduce((sum, g) => sum + g.sends.length, 0);
    expect(watch.seen.size).toBe(total);
    expect(busiestWindow(times, 2_000)).toBeLessThanOrEqual(company);
    // Working for 6 s (less the first grace) at 20 per 2 s: most of 50 slots used, none wasted on a clock's skew.
    expect(total).toBeGreaterThanOrEqual(40);
    // Evenly spread: grants a company spacing apart (span / figure), whichever gateway took them.
    const grants = [...watch.granted.values()].sort((a, b) => a - b);
    const gaps = grants.slice(1).map((t, i) => t - grants[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(Math.ceil(2_000 / company));
  });

  it('counts a send in the window until its answer, as the MES counts it on arrival', async () => {
    const { server } = await startRedis();
    // 2 per 2 s: spacing 1 s.
    const g = gateway(server, { id: 'g', company: 2 });
    const answer = await send(g, systemClock, 'later');
    await new Promise((r) => setTimeout(r, 1_500));
    answer();
    const answeredAt = Date.now();
    await send(g);
    await send(g);
    // The third may go only when the first, as of its answer, left the window.
    expect(g.sends[2]).toBeGreaterThanOrEqual(answeredAt + 2_000 - 20);
  });

  it("grants a gateway's requests in the order they were made, so no machine loses its turn to those picked after it", async () => {
    const { server } = await startRedis();
    // 20 per 2 s: 100 ms apart; 12 requests of one gateway at once, as the uploader's picks in round-robin order.
    const g = gateway(server, { id: 'g', company: 20, demand: 12 });
    await send(g);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const answered = await g.budget.acquire();
        order.push(i);
        answered();
      }),
    );
    expect(order).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // And the uploader is told when the next slot comes, so it picks its next machine (a run/stop first) then, not now.
    await send(g);
    expect(g.budget.delayMs()).toBeGreaterThan(0);
    expect(g.budget.delayMs()).toBeLessThanOrEqual(100);
  });

  it('shares by demand: a gateway with 30 machines waiting gets three times the sends of one with 10', async () => {
    const { server } = await startRedis();
    // 20 per 2 s: a slot every 100 ms, big's share one every 133 ms, small's one every 400 ms.
    const big = gateway(server, { id: 'big', company: 20, demand: 30 });
    const small = gateway(server, { id: 'small', company: 20, demand: 10 });
    const deadline = Date.now() + 8_000;
    await Promise.all(
      [big, big, small, small].map(async (g) => {
        for (let n = 0; n < 200 && Date.now() < deadline; n++) await send(g);
      }),
    );
    const share = big.sends.length / (big.sends.length + small.sends.length);
    expect(share).toBeGreaterThan(0.68);
    expect(share).toBeLessThan(0.82);
    expect(big.budget.status()).toMatchObject({ state: 'shared', gateways: 2, sharePerMinute: 15 });
  });

  it('gives a gateway whose machines start waiting its larger share at once, not after its old, slower pace', async () => {
    const { server } = await startRedis();
    // 40 per 2 s: a company spacing of 50 ms. `quiet` starts with 1 machine waiting of 40: one send per 2 s.
    const busy = gateway(server, { id: 'busy', company: 40, demand: 39 });
    const quiet = gateway(server, { id: 'quiet', company: 40, demand: 1 });
    let running = true;
    const load = [0, 1].map(async () => {
      for (let n = 0; n < 500 && running; n++) await send(busy);
    });
    await send(quiet);
    await send(quiet);
    quiet.demand = 39;
    const before = Date.now();
    await send(quiet);
    running = false;
    await Promise.all(load);
    // Half the company's rate now: about 100 ms; at the old pace it would have been up to 2 s.
    expect(quiet.sends[2] - before).toBeLessThan(1_000);
  });

  it("forgets a dead gateway's demand within the lapse, keeps its fallback share free while it may still be sending, then a trickle of 1, then drops it", async () => {
    const { server } = await startRedis();
    // The reserve and forget as Redis applies them, from the caller's ARGV (3 s and 6 s here, 15 min and 7 days in production).
    const timing = { reserveMs: 3_000, forgetMs: 6_000 };
    const dying = gateway(server, { id: 'dying', company: 40, fallback: 15, demand: 10, timing });
    const one = gateway(server, { id: 'one', company: 40, fallback: 1, demand: 10, timing });
    const alive = gateway(server, { id: 'alive', company: 40, demand: 10, timing });
    for (const g of [dying, one, alive]) await send(g);
    await eventually(
      () => alive.budget.status(),
      (s) => s.gateways === 3,
      5_000,
      'three gateways sharing',
    );
    const cutAt = Date.now();
    dying.cut = true;
    one.cut = true;
    /** alive's view after one more send, sampled until `until` ms after the cut. */
    const views: { at: number; companyLimit?: number; reservedPerMinute?: number; gatewaysAway?: number }[] = [];
    while (Date.now() - cutAt < 7_500) {
      await send(alive);
      const { companyLimit, reservedPerMinute, gatewaysAway } = alive.budget.status();
      views.push({ at: Date.now() - cutAt, companyLimit, reservedPerMinute, gatewaysAway });
      await new Promise((r) => setTimeout(r, 100));
    }
    const during = (from: number, to: number) => views.filter((v) => v.at >= from && v.at < to);
    // Lapsed (within 0.6 s + a beat): their fallback shares (15 and 1) are kept out of the company's 40...
    expect(during(1_500, 2_800)).not.toEqual([]);
    for (const v of during(1_500, 2_800)) expect(v).toMatchObject({ companyLimit: 24, reservedPerMinute: 16, gatewaysAway: 2 });
    // ...past the reserve only a trickle of 1 each: the one with a fallback share of 1 costs the same throughout...
    expect(during(3_500, 5_800)).not.toEqual([]);
    for (const v of during(3_500, 5_800)) expect(v).toMatchObject({ companyLimit: 38, reservedPerMinute: 2, gatewaysAway: 2 });
    // ...and past the forget both are gone.
    expect(during(6_500, 7_500)).not.toEqual([]);
    for (const v of during(6_500, 7_500)) expect(v).toMatchObject({ companyLimit: 40, reservedPerMinute: 0, gatewaysAway: 0 });
  });

  it('keeps nothing free for a gateway that stopped cleanly, and none for a ghost when a gateway restarts under its own name', async () => {
    const { server } = await startRedis();
    const leaving = gateway(server, { id: 'leaving', company: 40, fallback: 15, demand: 10 });
    const crashing = gateway(server, { id: 'crashing', company: 40, fallback: 10, demand: 10 });
    const alive = gateway(server, { id: 'alive', company: 40, demand: 10 });
    for (const g of [leaving, crashing, alive]) await send(g);
    await leaving.budget.stop();
    // Its next call already sees the company figure whole: stopping left the budget (and logged so).
    await send(alive);
    expect(alive.budget.status()).toMatchObject({ gateways: 2, companyLimit: 40, reservedPerMinute: 0 });
    expect(leaving.log.lines('budget.left')).toHaveLength(1);
    // A crash: the others keep its fallback share free...
    crashing.cut = true;
    const kept = await eventually(
      async () => {
        await send(alive);
        return alive.budget.status();
      },
      (st) => st.gateways === 1,
      5_000,
      'the crashed gateway lapsed',
    );
    expect(kept).toMatchObject({ companyLimit: 30, reservedPerMinute: 10, gatewaysAway: 1 });
    // ...until it starts again under its own name (the same database): it takes back its entry, no ghost is kept.
    const restarted = gateway(server, { id: 'crashing', company: 40, fallback: 10, demand: 10 });
    await send(restarted);
    await send(alive);
    expect(alive.budget.status()).toMatchObject({ gateways: 2, companyLimit: 40, reservedPerMinute: 0, gatewaysAway: 0 });
  });

  it("says when the gateways' fallback shares add up to more than the company figure (with Redis gone for all they would exceed it), once, and when that ended", async () => {
    const { server } = await startRedis();
    const a = gateway(server, { id: 'a', company: 40, fallback: 25 });
    await send(a);
    expect(a.budget.status().fallbackSharesPerMinute).toBe(25);
    const b = gateway(server, { id: 'b', company: 40, fallback: 20 });
    await send(b);
    await send(a);
    await send(a);
    expect(a.budget.status().fallbackSharesPerMinute).toBe(45);
    expect(b.budget.status().fallbackSharesPerMinute).toBe(45);
    // Logged once by each gateway, not at every answer.
    expect(a.log.lines('budget.fallback_shares_over')).toEqual([expect.objectContaining({ fallbackSharesPerMinute: 45, companyPerMinute: 40 })]);
    expect(b.log.lines('budget.fallback_shares_over')).toHaveLength(1);
    // A gateway that stops cleanly takes its share out of the sum.
    await b.budget.stop();
    await send(a);
    expect(a.budget.status().fallbackSharesPerMinute).toBe(25);
  });

  it('a 429 seen by one gateway pauses every gateway until its Retry-After', async () => {
    const { server } = await startRedis();
    const a = gateway(server, { id: 'a', company: 60 });
    const b = gateway(server, { id: 'b', company: 60 });
    await send(a);
    await send(b);
    const until = Date.now() + 1_500;
    a.budget.pauseUntil(until);
    await eventually(
      () => b.budget.status().pausedUntil,
      (p) => p !== undefined,
      3_000,
      'b sees the pause',
    );
    await send(b);
    // Redis's clock and ours are one here; 20 ms for the rounding of the pause to whole ms.
    expect(b.sends.at(-1)!).toBeGreaterThanOrEqual(until - 20);
    expect(b.budget.delayMs()).toBeLessThan(1_000);
  });
});

describe('a gateway cut off for long', () => {
  it('the company window never holds more than the company figure once the others stop keeping its fallback share free: it trickles', async () => {
    const { server, client } = await startRedis();
    // 20 per 2 s. Reserve 4 s, forget 8 s: the cut-off gateway trickles from 4 s - (2 s + 0.85 s + 1 %) = 1.11 s
    // after Redis last answered it, before Redis keeps only 1 for it (4 s after).
    const timing = { reserveMs: 4_000, forgetMs: 8_000 };
    const alive = gateway(server, { id: 'alive', company: 20, demand: 20, timing });
    // Its fallback share of 10/min: a send every 6.2 s (10 per 62 s, the local budget's window).
    const cut = gateway(server, { id: 'cut', company: 20, fallback: 10, demand: 20, timing });
    await send(cut);
    await send(alive);
    await eventually(
      () => alive.budget.status().gateways,
      (n) => n === 2,
      5_000,
      'both taking part',
    );
    const watch = watchSends(client);
    const cutAt = Date.now();
    cut.cut = true;
    const cutSends: number[] = [];
    const deadline = cutAt + 9_000;
    let midway: ReturnType<SharedBudget['status']> | undefined;
    await Promise.all([
      new Promise((r) => setTimeout(r, 3_000)).then(() => {
        midway = cut.budget.status();
      }),
      (async () => {
        // Unanswered, so that each member's score stays its grant time.
        for (let n = 0; n < 200 && Date.now() < deadline; n++) await send(alive, systemClock, 'never');
      })(),
      (async () => {
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), deadline - Date.now());
        try {
          for (let n = 0; n < 20; n++) {
            await cut.budget.acquire(stop.signal);
            cutSends.push(Date.now());
          }
        } catch {
          // the deadline
        } finally {
          clearTimeout(timer);
        }
      })(),
    ]);
    await watch.stop();
    const aliveGrants = [...watch.granted.entries()].filter(([m]) => m.startsWith('alive:')).map(([, at]) => at);
    // What the MES would count: every send of both gateways (the cut-off one's never reached Redis).
    expect(busiestWindow([...aliveGrants, ...cutSends], 2_000)).toBeLessThanOrEqual(20);
    expect(midway).toMatchObject({ state: 'fallback', fallbackStep: 'trickle', sharePerMinute: 1 });
    // And from 8 s - (2 s + 0.85 s + 1 %) = 5.07 s, before Redis forgets it, nothing.
    expect(cut.budget.status()).toMatchObject({ state: 'fallback', fallbackStep: 'stopped', sharePerMinute: 0 });
    expect(cut.log.lines('budget.fallback_trickle')).toHaveLength(1);
    expect(cut.log.lines('budget.fallback_stopped')).toHaveLength(1);
    // The others used what was free: 19 per 2 s past the reserve.
    expect(aliveGrants.filter((at) => at > cutAt + 5_000).length).toBeGreaterThanOrEqual(30);
  });
});

describe('stopping', () => {
  it('ends a wait for a slot at once, even during a long company pause', async () => {
    const { server } = await startRedis();
    const a = gateway(server, { id: 'a', company: 60 });
    const b = gateway(server, { id: 'b', company: 60 });
    await send(a);
    await send(b);
    a.budget.pauseUntil(Date.now() + 60_000);
    await eventually(
      () => b.budget.status().pausedUntil,
      (p) => p !== undefined,
      3_000,
      'b sees the pause',
    );
    // Its rejection is taken at once: it may come while stop() is still being awaited.
    const waiting = b.budget.acquire().catch((err: { code?: string }) => err.code);
    await b.budget.stop();
    const bound = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000));
    expect(await Promise.race([waiting, bound])).toBe('SFG_BUDGET_STOPPED');
  });
});

describe('without Redis', () => {
  it('sends on the fallback share while Redis is down, says why, and rejoins by itself with its sends re-registered', async () => {
    const { server, client } = await startRedis();
    const g = gateway(server, { id: 'g', company: 60, fallback: 120, timing: { spanMs: 20_000 } });
    await send(g);
    expect(g.budget.status().state).toBe('shared');
    await server.kill();
    const before = Date.now();
    await send(g);
    // The first fallback send waits until the others have seen this gateway lapse (600 ms here).
    expect(Date.now() - before).toBeGreaterThanOrEqual(600);
    expect(g.budget.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_UNREACHABLE', sharePerMinute: 120 });
    expect(g.log.lines('budget.fallback')).toEqual([expect.objectContaining({ code: 'SFG_BUDGET_UNREACHABLE', fallbackPerMinute: 120 })]);
    await send(g);
    await server.restart();
    await eventually(
      () => g.budget.status().state,
      (s) => s === 'shared',
      10_000,
      'back on the shared budget',
    );
    expect(g.log.lines('budget.shared_joined')).toHaveLength(2);
    // Redis came back empty: it knows this gateway's three sends of the span again.
    expect(await client.zcard(SENDS)).toBe(3);
  });

  it('counts a Redis that dies while answering as unreachable, not as an error of Redis', async () => {
    const { server } = await startRedis();
    // A long command timeout: the kill, not the timeout, must end the call.
    const g = gateway(server, { id: 'g', company: 60, fallback: 60, commandTimeoutMs: 5_000 });
    await send(g);
    server.freeze();
    const sending = send(g);
    await new Promise((r) => setTimeout(r, 200));
    await server.kill();
    await sending;
    expect(g.budget.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_UNREACHABLE' });
    expect(g.log.lines('budget.fallback').map((l) => l.code)).toEqual(['SFG_BUDGET_UNREACHABLE']);
  });

  it('says so when Redis refuses the password, and never shows it', async () => {
    const server = await startRedisServer({ password: 'right-Secret-1' });
    defer(server.cleanup);
    const g = gateway(server, { id: 'g', company: 60, fallback: 60, url: `redis://:wrong-Secret-2@127.0.0.1:${server.port}` });
    await send(g);
    expect(g.budget.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_AUTH' });
    expect(g.log.logs.join('') + JSON.stringify(g.budget.status())).not.toMatch(/Secret-/);
  });

  it('starts on the fallback share when Redis is down at start, and treats a hung Redis as down after the command timeout', async () => {
    const { server } = await startRedis();
    await server.stop();
    const g = gateway(server, { id: 'g', company: 60, fallback: 30 });
    await send(g);
    expect(g.budget.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_UNREACHABLE' });
    await server.restart();
    await eventually(
      () => g.budget.status().state,
      (s) => s === 'shared',
      10_000,
      'joined once Redis is up',
    );
    server.freeze();
    defer(() => server.thaw());
    const before = Date.now();
    await send(g);
    expect(g.budget.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_TIMEOUT' });
    // Fallback share of 30/min: 2 s between sends; never waits for Redis for ever.
    expect(Date.now() - before).toBeLessThan(5_000);
    server.thaw();
    await eventually(
      () => g.budget.status().state,
      (s) => s === 'shared',
      10_000,
      'rejoined after the hang',
    );
  });

  it('after Redis restarted empty, grants nothing until every gateway re-registered its sends', async () => {
    const { server, client } = await startRedis();
    const timing = { spanMs: 20_000, graceMs: 1_500 };
    const a = gateway(server, { id: 'a', company: 100, timing });
    const b = gateway(server, { id: 'b', company: 100, timing });
    for (let n = 0; n < 3; n++) {
      await send(a);
      await send(b);
    }
    expect(await client.zcard(SENDS)).toBe(6);
    await server.restart();
    // Taken after the restart: a beat the old server answered while it was being stopped is not a rejoin.
    const restarted = Date.now();
    await eventually(
      () => [a.budget.status(), b.budget.status()],
      (both) => both.every((s) => s.state === 'shared' && s.seenAt !== undefined && s.seenAt > restarted),
      10_000,
      'both back on the shared budget',
    );
    // Both gateways' six sends are known again: the window cannot over-fill.
    expect(await client.zcard(SENDS)).toBe(6);
    await send(a);
    const [, grantedAt] = await client.zrange(SENDS, '-1', '-1', 'WITHSCORES');
    expect(Number(grantedAt)).toBeGreaterThanOrEqual(Number(await client.hget(STATE, 'grace')));
  });
});
