import { describe, expect, it } from 'vitest';
import { ARRIVAL_MARGIN_MS, RateBudget, SPAN_MS } from '../../src/uplink/rate-budget.js';
import { drive, maxPerWindow } from '../helpers/budget-drive.js';
import { ManualClock } from '../helpers/clocks.js';

describe('RateBudget', () => {
  it('never exceeds perMinute in any 60 s window under constant demand for 10 minutes', () => {
    for (const perMinute of [100, 120, 7, 1]) {
      const clock = new ManualClock();
      const budget = new RateBudget({ perMinute, clock });
      const start = clock.now();
      const sends = drive(budget, clock, start + 600_000);
      // The MES counts arrivals, each up to the margin after its send: the send window is longer.
      expect(maxPerWindow(sends, SPAN_MS)).toBeLessThanOrEqual(perMinute);
      // Constant demand gets the full budget per SPAN_MS, not less.
      expect(sends.length).toBeGreaterThanOrEqual(Math.floor((perMinute * 600_000) / SPAN_MS));
    }
  });

  it('no 60 s window of arrivals holds more than perMinute when arrival lags the send by 0 to the margin', () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 120, clock });
    const sends = drive(budget, clock, clock.now() + 300_000);
    // Worst case for the MES: a minute's sends arrive as late as allowed, the next minute's at once.
    const arrivals = sends.map((t, i) => t + (Math.floor(i / 120) % 2 === 0 ? ARRIVAL_MARGIN_MS : 0));
    expect(maxPerWindow(arrivals)).toBeLessThanOrEqual(120);
  });

  it('spreads sends evenly under steady work: no burst, no stall when the window turns over', () => {
    for (const perMinute of [100, 120, 7]) {
      const clock = new ManualClock();
      const budget = new RateBudget({ perMinute, clock });
      const start = clock.now();
      // Work all along, after a quiet spell: the first send goes at once.
      const sends = drive(budget, clock, start + 600_000);
      expect(sends[0]).toBe(start);
      const nominal = SPAN_MS / perMinute;
      const gaps = sends.slice(1).map((t, i) => t - sends[i]);
      // A burst now would return as a pause when its slots leave the window: every gap is the nominal one, rounded to the ms.
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(Math.floor(nominal));
      expect(Math.max(...gaps)).toBeLessThanOrEqual(Math.ceil(nominal));
      expect(sends[perMinute] - sends[0]).toBe(SPAN_MS);
    }
  });

  it('stays evenly spread when answers come 0 to 300 ms after the send, two in flight', () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 100, clock });
    const start = clock.now();
    const nominal = SPAN_MS / 100;
    const sends: number[] = [];
    const answers: { at: number; answered: () => void }[] = [];
    for (let i = 0; clock.now() < start + 600_000; ) {
      const sendAt = answers.length < 2 ? clock.now() + budget.delayMs() : Infinity;
      answers.sort((a, b) => a.at - b.at);
      if (answers.length > 0 && answers[0].at <= sendAt) {
        const next = answers.shift()!;
        clock.set(Math.max(clock.now(), next.at));
        next.answered();
        continue;
      }
      clock.set(sendAt);
      sends.push(clock.now());
      answers.push({ at: clock.now() + ((i++ * 137) % 301), answered: budget.take() });
    }
    const gaps = sends.slice(1).map((t, i) => t - sends[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(Math.floor(nominal));
    // A late answer holds the send a window later back by its lateness (≤ 300 ms), and only then.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1.5 * nominal);
    expect(maxPerWindow(sends, SPAN_MS)).toBeLessThanOrEqual(100);
  });

  it('keeps a send in the window until its answer: the MES counts it when it arrives, up to then', () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 2, clock });
    const start = clock.now();
    const slow = budget.take();
    clock.set(start + 1000);
    budget.take()(); // answered at once
    clock.set(start + 5000);
    slow(); // answered 5 s after it was sent: it may have reached the MES only now
    // A third send at start + 60 s could share an MES window with both: not before the quick one's minute is over.
    // (The window is SPAN_MS: the minute plus the arrival margin.)
    clock.set(start + 60_000);
    expect(budget.delayMs()).toBe(1000 + SPAN_MS - 60_000);
    clock.set(start + 1000 + SPAN_MS);
    expect(budget.delayMs()).toBe(0);
    // The slow one is still in the window, counted from its answer: one more send fills it.
    expect(budget.usedLastMinute()).toBe(1);
    budget.take();
    expect(budget.usedLastMinute()).toBe(2);
  });

  it('keeps the window across a restart given the history', () => {
    const clock = new ManualClock();
    const first = new RateBudget({ perMinute: 10, clock });
    const start = clock.now();
    const before = drive(first, clock, start + SPAN_MS - 1);
    expect(before).toHaveLength(10);
    clock.set(start + SPAN_MS - 1);
    const second = new RateBudget({ perMinute: 10, clock, history: before });
    // The first send is over a minute old but still in the 62 s window.
    expect(second.usedLastMinute()).toBe(9);
    expect(second.delayMs()).toBe(1);
    const after = drive(second, clock, start + 600_000);
    expect(maxPerWindow([...before, ...after], SPAN_MS)).toBeLessThanOrEqual(10);
  });

  it('keeps the spacing across a restart', () => {
    const clock = new ManualClock();
    const first = new RateBudget({ perMinute: 100, clock });
    const start = clock.now();
    const before = drive(first, clock, start + 30_000);
    const second = new RateBudget({ perMinute: 100, clock, history: before });
    expect(second.delayMs()).toBe(first.delayMs());
    const after = drive(second, clock, start + 600_000);
    expect(after[0] - before[before.length - 1]).toBe(SPAN_MS / 100);
    expect(maxPerWindow([...before, ...after], SPAN_MS)).toBeLessThanOrEqual(100);
  });

  it('ignores history older than its window and treats future timestamps as now', () => {
    const clock = new ManualClock();
    const now = clock.now();
    const budget = new RateBudget({ perMinute: 2, clock, history: [now - SPAN_MS, now - 70_000, now + 3_600_000] });
    expect(budget.usedLastMinute()).toBe(1);
    // The one counted is the future one, as now: the next send waits its spacing from it.
    expect(budget.delayMs()).toBe(SPAN_MS / 2);
  });

  it('restarts the minute when the wall clock steps back instead of blocking until it catches up', () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 2, clock });
    const start = clock.now();
    budget.take();
    budget.take();
    clock.set(start - 3_600_000);
    expect(budget.delayMs()).toBe(SPAN_MS);
  });

  it('honours pauseUntil, and a shorter pause does not cut a longer one', async () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 120, clock });
    const start = clock.now();
    budget.pauseUntil(start + 30_000);
    budget.pauseUntil(start + 5_000);
    expect(budget.delayMs()).toBe(30_000);
    let done = false;
    const acquired = budget.acquire().then(() => {
      done = true;
    });
    await clock.advanceAndSettle(29_999);
    expect(done).toBe(false);
    await clock.advanceAndSettle(1);
    await acquired;
    expect(done).toBe(true);
    expect(budget.usedLastMinute()).toBe(1);
  });

  it('acquire waits on the clock for a slot and takes it; concurrent callers each get their own', async () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 62, clock });
    const start = clock.now();
    const order: number[] = [];
    const at: number[] = [];
    const all = Promise.all(
      [1, 2, 3].map((i) =>
        budget.acquire().then(() => {
          order.push(i);
          at.push(clock.now() - start);
        }),
      ),
    );
    await clock.advanceAndSettle(0);
    expect(order).toHaveLength(1);
    await clock.advanceAndSettle(1000);
    expect(order).toHaveLength(2);
    await clock.advanceAndSettle(1000);
    await all;
    expect(at).toEqual([0, 1000, 2000]);
    expect(budget.usedLastMinute()).toBe(3);
  });

  it('acquire rejects when aborted, without taking a slot', async () => {
    const clock = new ManualClock();
    const budget = new RateBudget({ perMinute: 60, clock });
    budget.take();
    const ac = new AbortController();
    const pending = budget.acquire(ac.signal);
    ac.abort();
    await expect(pending).rejects.toThrow();
    expect(budget.usedLastMinute()).toBe(1);
  });

  it('refuses nonsense limits', () => {
    const clock = new ManualClock();
    expect(() => new RateBudget({ perMinute: 0, clock })).toThrow(/perMinute/);
    expect(() => new RateBudget({ perMinute: 2.5, clock })).toThrow(/perMinute/);
  });
});
