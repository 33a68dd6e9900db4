import { describe, expect, it } from 'vitest';
import { ReadingQueue } from '../../src/machine/reading-queue.js';
import type { Reading } from '../../src/core/values.js';
import { ManualClock } from '../helpers/clocks.js';

const reading = (machine: string, value: number): Reading => ({ machine, signal: 'count', value, at: 0 });

/** A queue that has just applied one poll, so the next ones wait for the window. */
function queue() {
  const clock = new ManualClock();
  const applied: Reading[][] = [];
  const q = new ReadingQueue({ clock, windowMs: 250, apply: (batch) => applied.push(batch) });
  q.add('first', [reading('M0', 0)]);
  applied.length = 0;
  return { clock, applied, q };
}

describe('ReadingQueue', () => {
  it('applies the polls of many devices within the window as one batch (one commit)', () => {
    const { clock, applied, q } = queue();
    for (let d = 0; d < 50; d++) q.add(`plc${d}`, [reading(`M${d}`, d)]);
    expect(applied).toEqual([]);
    clock.advance(250);
    expect(applied).toHaveLength(1);
    expect(applied[0]).toHaveLength(50);
  });

  it('applies a poll a window after the last commit at once: a first count after a start is not held back', () => {
    const clock = new ManualClock();
    const applied: Reading[][] = [];
    const q = new ReadingQueue({ clock, windowMs: 250, apply: (batch) => applied.push(batch) });
    q.add('plc', [reading('M1', 1)]);
    expect(applied).toEqual([[reading('M1', 1)]]);
    clock.advance(500);
    q.add('plc', [reading('M1', 2)]);
    expect(applied).toEqual([[reading('M1', 1)], [reading('M1', 2)]]);
    expect(clock.pending()).toEqual([]);
  });

  it('commits at most once per window, however the polls fall', () => {
    const clock = new ManualClock();
    const commits: { at: number; size: number }[] = [];
    const q = new ReadingQueue({ clock, windowMs: 250, apply: (batch) => commits.push({ at: clock.now(), size: batch.length }) });
    // 20 devices, each polled once a second, one every 30 ms, for 3 s.
    for (let i = 0; i < 100; i++) {
      const d = i % 20;
      q.add(`plc${d}`, [reading(`M${d}`, i)]);
      clock.advance(30);
    }
    q.flush();
    const gaps = commits.slice(1, -1).map((c, i) => c.at - commits[i].at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(commits.reduce((n, c) => n + c.size, 0)).toBe(100);
  });

  it('never joins two polls of one device: the earlier one is applied first, in order', () => {
    const { clock, applied, q } = queue();
    q.add('plc', [reading('M1', 1)]);
    q.add('other', [reading('M2', 5)]);
    q.add('plc', [reading('M1', 2)]);
    expect(applied).toEqual([[reading('M1', 1), reading('M2', 5)]]);
    clock.advance(250);
    expect(applied).toEqual([[reading('M1', 1), reading('M2', 5)], [reading('M1', 2)]]);
  });

  it('flush applies what is gathered at once and leaves no timer behind', () => {
    const { clock, applied, q } = queue();
    q.add('plc', [reading('M1', 1)]);
    q.flush();
    expect(applied).toEqual([[reading('M1', 1)]]);
    expect(clock.pending()).toEqual([]);
    q.flush();
    expect(applied).toHaveLength(1);
  });
});
