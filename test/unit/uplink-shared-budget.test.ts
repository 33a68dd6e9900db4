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
import { SharedBudget } from '../../src/uplink/shared-budget.js';
import { ManualClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';

/** `held`: answered "join" (Redis no longer knows this gateway, as after a leave) when the test says. */
type Answer = 'ok' | 'timeout' | 'down' | { held: Promise<'join'> };
const COMMAND_TIMEOUT_MS = 300;

function fakeRedis(clock: ManualClock, answer: (op: BudgetOp) => Answer, ops: BudgetOp[]): BudgetRedis {
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
  });
  return {
    run: (op) => {
      ops.push(op);
      const a = answer(op);
      if (a === 'down') return Promise.reject(new GatewayError('SFG_BUDGET_UNREACHABLE', 'Redis is not reachable'));
      if (a === 'ok') return Promise.resolve(reply(op));
      if (typeof a === 'object') return a.held.then(() => ({ ...reply(op), status: 'join' as const }));
      return new Promise((_, reject) =>
        clock.setTimeout(() => reject(new GatewayError('SFG_BUDGET_TIMEOUT', 'Redis did not answer in time')), COMMAND_TIMEOUT_MS),
      );
    },
    close: async () => undefined,
  };
}

/** A shared budget at 115/min for the company, 16/min fallback, whose request log holds `sends`. */
async function budget(clock: ManualClock, answer: (op: BudgetOp) => Answer, sends: number[] = []) {
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
  });
  await clock.advanceAndSettle(0);
  return { b, log, ops };
}

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
