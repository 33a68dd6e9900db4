/**
 * The gateway's side of the company budget (src/uplink/shared-budget.ts) on a fake clock,
 * with Redis replaced by a stand-in that answers, times out (after the 300 ms command timeout,
 * on the fake clock) or is unreachable per operation: when a gateway falls back to its
 * fallback share, and how long its machines wait at the switch. The script itself runs
 * through a real Redis in test/integration/shared-budget.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { BudgetRedis } from '../../src/uplink/budget-redis.js';
import type { BudgetOp, BudgetReply } from '../../src/uplink/budget-script.js';
import type { Clock } from '../../src/core/clock.js';
import { SharedBudget, type SharedBudgetOptions, type SharedBudgetTiming } from '../../src/uplink/shared-budget.js';
import { ManualClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';

/** `held`: answered "join" (Redis no longer knows this gateway, as after a leave) when the test says. */
type Answer = 'ok' | 'timeout' | 'down' | { held: Promise<'join'> };
const COMMAND_TIMEOUT_MS = 300;

function fakeRedis(clock: Clock, answer: (op: BudgetOp) => Answer, ops: BudgetOp[]): BudgetRedis {
  let seq = 0;
  const reply = (op: BudgetOp): BudgetReply => ({
    status: op === 'acquire' ? 'granted' : 'ok',
    waitMs: 0,
    member: op === 'acquire' ? `g:${++seq}` : '',
    used: 0,
    limit: 115,
    gateways: 2,
    share: 100,
    pauseMs: 0,
    reserved: 0,
    away: 0,
    fallbacks: 30,
  });
  const bare: BudgetReply = { status: 'ok', waitMs: 0, member: '', used: 0, limit: 0, gateways: 0, share: 0, pauseMs: 0, reserved: 0, away: 0, fallbacks: 0 };
  return {
    run: (op) => {
      ops.push(op);
      const a = answer(op);
      if (a === 'down') return Promise.reject(new GatewayError('SFG_BUDGET_UNREACHABLE', 'Redis is not reachable'));
      // As the script: answered, pause and leave answer a bare 'ok', without the company's figures.
      if (a === 'ok') return Promise.resolve(['answered', 'pause', 'leave'].includes(op) ? bare : reply(op));
      if (typeof a === 'object') return a.held.then(() => ({ ...reply(op), status: 'join' as const }));
      return new Promise((_, reject) =>
        clock.setTimeout(() => reject(new GatewayError('SFG_BUDGET_TIMEOUT', 'Redis did not answer in time')), COMMAND_TIMEOUT_MS),
      );
    },
    close: async () => undefined,
  };
}

/** A shared budget at 115/min for the company, 16/min fallback, whose request log holds `sends`. */
async function budget(
  clock: Clock,
  answer: (op: BudgetOp) => Answer,
  sends: number[] = [],
  more: { timing?: Partial<SharedBudgetTiming>; answeredStore?: SharedBudgetOptions['answeredStore'] } = {},
) {
  const log = recordingLogger();
  /** Every operation asked of Redis, in order. */
  const ops: BudgetOp[] = [];
  const b = new SharedBudget({
    key: 'acme',
    redisShown: 'redis://127.0.0.1:6379',
    companyPerMinute: 115,
    fallbackPerMinute: 16,
    clock,
    logger: log.logger,
    connect: async () => fakeRedis(clock, answer, ops),
    recentSends: (from) => sends.filter((t) => t >= from),
    demand: () => 40,
    ...more,
  });
  await settle(clock, 0);
  return { b, log, ops };
}

/** A ManualClock whose reading can also be stepped back (NTP on a Pi without RTC), its timers still on the manual time. */
class SteppingClock implements Clock {
  offset = 0;
  constructor(readonly manual = new ManualClock()) {}
  now = (): number => this.manual.now() + this.offset;
  setTimeout = (fn: () => void, ms: number): unknown => this.manual.setTimeout(fn, ms);
  clearTimeout = (h: unknown): void => this.manual.clearTimeout(h);
}

const settle = (clock: Clock, ms: number) => (clock instanceof SteppingClock ? clock.manual : (clock as ManualClock)).advanceAndSettle(ms);

/** Advances the fake clock in 50 ms steps until `p` settles (at most `limitMs`); returns the fake ms it took. */
async function timeTo(clock: ManualClock, p: Promise<unknown>, limitMs = 120_000): Promise<number> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  const start = clock.now();
  for (let t = 0; !done && t < limitMs; t += 50) await clock.advanceAndSettle(50);
  expect(done).toBe(true);
  return clock.now() - start;
}

describe('SharedBudget: what it shows', () => {
  it("keeps the company's figures shown through a 429 pause, whose answer from Redis carries none", async () => {
    const clock = new ManualClock();
    const { b, ops } = await budget(clock, () => 'ok');
    await timeTo(clock, b.acquire());
    expect(b.status()).toMatchObject({ companyLimit: 115, gateways: 2, fallbackSharesPerMinute: 30 });
    b.pauseUntil(clock.now() + 60_000);
    await settle(clock, 0);
    expect(ops.at(-1)).toBe('pause');
    expect(b.status()).toMatchObject({ companyLimit: 115, gateways: 2, fallbackSharesPerMinute: 30 });
    expect(b.status().pausedUntil).toBe(clock.now() + 60_000);
  });
});

describe('SharedBudget: when to fall back', () => {
  it('stays on the company budget when one answer comes after the command timeout (a loaded machine), and sends as soon as Redis answers', async () => {
    const clock = new ManualClock();
    let lateAcquires = 1;
    const { b, log } = await budget(clock, (op) => (op === 'acquire' && lateAcquires-- > 0 ? 'timeout' : 'ok'));
    expect(b.status().state).toBe('shared');
    const waited = await timeTo(clock, b.acquire());
    expect(b.status().state).toBe('shared');
    expect(log.lines('budget.fallback')).toEqual([]);
    // One timeout and one retry, not the 3.25 s hold of a switch to the fallback share.
    expect(waited).toBeLessThan(1_000);
  });

  it('falls back after about a second of timeouts in a row (a Redis answering in 1 s is down for this), never waiting for ever', async () => {
    const clock = new ManualClock();
    let slow = false;
    const { b, log } = await budget(clock, () => (slow ? 'timeout' : 'ok'));
    await timeTo(clock, b.acquire());
    slow = true;
    const waited = await timeTo(clock, b.acquire());
    expect(b.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_TIMEOUT', sharePerMinute: 16 });
    expect(log.lines('budget.fallback')).toEqual([expect.objectContaining({ code: 'SFG_BUDGET_TIMEOUT' })]);
    // The first timeout (300 ms), the patience from it (1 s, ending during a retry: up to 400 ms
    // more), then the hold (3.25 s, until the others count this gateway as lapsed).
    expect(waited).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS + 1_000 + 3_250);
    expect(waited).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 1_000 + COMMAND_TIMEOUT_MS + 100 + 3_250 + 50);
  });

  it('falls back at once when Redis is unreachable (refused, reset): there is no answer to wait for', async () => {
    const clock = new ManualClock();
    let down = false;
    const { b, log } = await budget(clock, () => (down ? 'down' : 'ok'));
    await timeTo(clock, b.acquire());
    down = true;
    const waited = await timeTo(clock, b.acquire());
    expect(b.status()).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_UNREACHABLE' });
    expect(log.lines('budget.fallback')).toHaveLength(1);
    expect(waited).toBeGreaterThanOrEqual(3_250);
    expect(waited).toBeLessThanOrEqual(3_250 + 100);
  });

  it('a gateway whose share was far above its fallback share sends again after the hold, not once its shared sends left a 16/min window', async () => {
    const clock = new ManualClock();
    // 60 sends in the last 62 s (its share of 115 with most of the company's machines), 1 s apart.
    const sends = Array.from({ length: 60 }, (_, i) => clock.now() - 60_000 + i * 1_000);
    let down = false;
    const { b } = await budget(clock, () => (down ? 'down' : 'ok'), sends);
    down = true;
    const waited = await timeTo(clock, b.acquire());
    expect(b.status().state).toBe('fallback');
    // Before: the 16th-newest send (15 s old) had to leave the 62 s window first, 47 s.
    expect(waited).toBeLessThanOrEqual(3_250 + 100);
    // Then at the fallback share's spacing: 62 s / 16 = 3.9 s.
    expect(await timeTo(clock, b.acquire())).toBeGreaterThanOrEqual(3_875);
  });

  it('stopping on the fallback share still tells Redis it leaves (one try), so that no share is kept for it if Redis hears it', async () => {
    const clock = new ManualClock();
    let down = true;
    const { b, log, ops } = await budget(clock, () => (down ? 'down' : 'ok'));
    expect(b.status().state).toBe('fallback');
    // Redis is back, and this gateway stops before its next beat would have rejoined.
    down = false;
    await b.stop();
    expect(ops.at(-1)).toBe('leave');
    expect(log.lines('budget.left')).toHaveLength(1);
  });

  it('a heartbeat still on its way when the gateway stops does not register it again after it left (a ghost kept for 15 min)', async () => {
    const clock = new ManualClock();
    let answerBeat!: (v: 'join') => void;
    const held = new Promise<'join'>((resolve) => {
      answerBeat = resolve;
    });
    const { b, ops } = await budget(clock, (op) => (op === 'beat' ? { held } : 'ok'));
    // The heartbeat goes out, and its answer (Redis no longer knows it: "join") comes after the leave.
    await clock.advanceAndSettle(1_000);
    expect(ops.at(-1)).toBe('beat');
    await b.stop();
    answerBeat('join');
    await clock.advanceAndSettle(1_000);
    expect(ops.slice(ops.lastIndexOf('leave'))).toEqual(['leave']);
  });
});

describe('SharedBudget: cut off from Redis for long', () => {
  // Production timing: the trickle from 15 min - (62 s + 3.25 s + 9 s) = 825.75 s after Redis last
  // answered; a forget of 2 h (7 days in production) for a test that can reach it: nothing from
  // 2 h - (62 s + 3.25 s + 72 s) = 7 062.75 s. Beats once an hour, so that the fake clock moves fast.
  const TRICKLE_MS = 825_750;
  const FORGET_MS = 2 * 3_600_000;
  const STOP_MS = 7_062_750;
  const timing = { forgetMs: FORGET_MS, beatMs: 3_600_000 };

  it('steps from its fallback share to 1/min, then to nothing, at the boundaries counted from the start of the last answered call', async () => {
    const clock = new ManualClock();
    let down = false;
    const start = clock.now();
    // The request log, as recordedAcquire keeps it. The join at start is the last call Redis answers.
    const sends: number[] = [];
    const { b, log } = await budget(clock, () => (down ? 'down' : 'ok'), sends, { timing });
    down = true;
    const first = b.acquire();
    await timeTo(clock, first);
    expect(b.status()).toMatchObject({ state: 'fallback', fallbackStep: 'share', sharePerMinute: 16, answeredAt: start });
    await clock.advanceAndSettle(start + TRICKLE_MS - 1 - clock.now());
    expect(b.status()).toMatchObject({ fallbackStep: 'share', sharePerMinute: 16 });
    // A send on the full share just before the boundary...
    const last = clock.now();
    await (await b.acquire())();
    sends.push(last);
    expect(log.lines('budget.fallback_trickle')).toEqual([]);
    await clock.advanceAndSettle(1);
    expect(b.status()).toMatchObject({ fallbackStep: 'trickle', sharePerMinute: 1 });
    expect(log.lines('budget.fallback_trickle')).toEqual([expect.objectContaining({ fallbackPerMinute: 16, awayMin: 14 })]);
    // ...and the first at 1/min continues the spacing from it: 62 s, not the 3.9 s of 16/min.
    const next = b.acquire();
    await timeTo(clock, next);
    expect(clock.now() - last).toBeGreaterThanOrEqual(62_000);
    await clock.advanceAndSettle(start + STOP_MS - 1 - clock.now());
    expect(b.status()).toMatchObject({ fallbackStep: 'trickle' });
    await clock.advanceAndSettle(1);
    expect(b.status()).toMatchObject({ fallbackStep: 'stopped', sharePerMinute: 0 });
    expect(log.lines('budget.fallback_stopped')).toHaveLength(1);
    expect(log.lines('budget.fallback_trickle')).toHaveLength(1);
    // Stopped: nothing is sent however long it waits, and stop() ends the wait.
    let outcome = 'waiting';
    const waiting = b.acquire().then(
      () => (outcome = 'sent'),
      (err: { code?: string }) => (outcome = err.code ?? 'rejected'),
    );
    await clock.advanceAndSettle(30 * 60_000);
    expect(outcome).toBe('waiting');
    await b.stop();
    await waiting;
    expect(outcome).toBe('SFG_BUDGET_STOPPED');
  });

  it('counts from the last answered call of any kind that Redis sees (a heartbeat), not from the switch', async () => {
    const clock = new ManualClock();
    let down = false;
    const { b } = await budget(clock, () => (down ? 'down' : 'ok'), [], { timing: { beatMs: 1_000 } });
    await clock.advanceAndSettle(10_000);
    const lastBeat = clock.now();
    down = true;
    // The next beat fails (1 s later): on the fallback share from then.
    await clock.advanceAndSettle(1_000);
    expect(b.status()).toMatchObject({ state: 'fallback', fallbackStep: 'share', answeredAt: lastBeat });
    await clock.advanceAndSettle(lastBeat + TRICKLE_MS - 1 - clock.now());
    expect(b.status().fallbackStep).toBe('share');
    await clock.advanceAndSettle(1);
    expect(b.status().fallbackStep).toBe('trickle');
    await b.stop();
  });

  it('back on the shared budget, everything is as before: a later cut starts again from its full fallback share', async () => {
    const clock = new ManualClock();
    let down = false;
    const { b, log } = await budget(clock, () => (down ? 'down' : 'ok'), [], { timing: { beatMs: 1_000 } });
    down = true;
    await clock.advanceAndSettle(TRICKLE_MS + 5_000);
    expect(b.status()).toMatchObject({ fallbackStep: 'trickle', sharePerMinute: 1 });
    down = false;
    await clock.advanceAndSettle(1_000);
    expect(b.status()).toMatchObject({ state: 'shared', sharePerMinute: 100 });
    expect(b.status().fallbackStep).toBeUndefined();
    down = true;
    await clock.advanceAndSettle(1_000);
    expect(b.status()).toMatchObject({ state: 'fallback', fallbackStep: 'share', sharePerMinute: 16 });
    await clock.advanceAndSettle(TRICKLE_MS - 10_000);
    expect(b.status().fallbackStep).toBe('share');
    await clock.advanceAndSettle(10_000);
    expect(b.status().fallbackStep).toBe('trickle');
    expect(log.lines('budget.fallback_trickle')).toHaveLength(2);
    await b.stop();
  });

  it('a restart while still cut off continues the steps from the stored time; one that never reached Redis counts them from its first start', async () => {
    const clock = new ManualClock();
    const store = (at: number | undefined) => ({ get: () => at, put: () => undefined });
    const restarted = await budget(clock, () => 'down', [], { timing, answeredStore: store(clock.now() - TRICKLE_MS + 1_000) });
    expect(restarted.b.status()).toMatchObject({ state: 'fallback', fallbackStep: 'share' });
    await clock.advanceAndSettle(999);
    expect(restarted.b.status().fallbackStep).toBe('share');
    await clock.advanceAndSettle(1);
    expect(restarted.b.status().fallbackStep).toBe('trickle');
    await restarted.b.stop();
    const long = await budget(clock, () => 'down', [], { timing, answeredStore: store(clock.now() - STOP_MS) });
    expect(long.b.status()).toMatchObject({ fallbackStep: 'stopped', sharePerMinute: 0 });
    await long.b.stop();
    // Never answered (Redis unreachable since its first start): Redis may keep nothing for it, so
    // it is held to the same steps, from that first start, which it stores at once...
    let kept: number | undefined;
    const firstStore = { get: () => kept, put: (at: number) => (kept = at) };
    const startedAt = clock.now();
    const fresh = await budget(clock, () => 'down', [], { timing, answeredStore: firstStore });
    expect(kept).toBe(startedAt);
    await clock.advanceAndSettle(TRICKLE_MS - 1_000);
    expect(fresh.b.status()).toMatchObject({ fallbackStep: 'share', sharePerMinute: 16 });
    await fresh.b.stop();
    // ...so that a restart (a crash loop, say) does not begin them again.
    const again = await budget(clock, () => 'down', [], { timing, answeredStore: firstStore });
    expect(again.b.status().fallbackStep).toBe('share');
    await clock.advanceAndSettle(1_000);
    expect(again.b.status()).toMatchObject({ fallbackStep: 'trickle', sharePerMinute: 1 });
    await again.b.stop();
  });

  it('a wall clock stepped back does not lengthen the full share: across a restart (stored time ahead) nor while running', async () => {
    const clock = new SteppingClock();
    const ahead = { get: () => clock.now() + 3_600_000, put: () => undefined };
    const restarted = await budget(clock, () => 'down', [], { timing, answeredStore: ahead });
    expect(restarted.b.status()).toMatchObject({ fallbackStep: 'trickle', sharePerMinute: 1 });
    await restarted.b.stop();

    let down = false;
    const { b } = await budget(clock, () => (down ? 'down' : 'ok'), [], { timing });
    down = true;
    await timeTo(clock.manual, b.acquire());
    await clock.manual.advanceAndSettle(TRICKLE_MS - 60_000);
    expect(b.status().fallbackStep).toBe('share');
    // NTP steps the clock back by an hour: the time away still runs on from where it was.
    clock.offset = -3_600_000;
    expect(b.status().fallbackStep).toBe('share');
    await clock.manual.advanceAndSettle(60_000);
    expect(b.status().fallbackStep).toBe('trickle');
    await b.stop();
  });

  it('writes the time of the last answer seldom (SD card): once at the first answer, at most once a minute while shared, at the switch and at stop', async () => {
    const clock = new ManualClock();
    const puts: number[] = [];
    let down = false;
    const { b } = await budget(clock, () => (down ? 'down' : 'ok'), [], {
      timing: { beatMs: 1_000 },
      answeredStore: { get: () => undefined, put: (at) => puts.push(at) },
    });
    // Three minutes of a beat a second: 180 answers (the first start's write is one of these puts).
    await clock.advanceAndSettle(180_500);
    expect(puts.length).toBeGreaterThanOrEqual(3);
    expect(puts.length).toBeLessThanOrEqual(4);
    const before = puts.length;
    down = true;
    await clock.advanceAndSettle(1_000);
    expect(b.status().state).toBe('fallback');
    // The switch writes the last answer's time unless it is on disk already; while cut off nothing changes, nothing is written.
    expect(puts.length).toBeLessThanOrEqual(before + 1);
    expect(puts.at(-1)).toBe(b.status().answeredAt);
    const switched = puts.length;
    await clock.advanceAndSettle(10 * 60_000);
    await b.stop();
    expect(puts.length).toBe(switched);
  });
});
