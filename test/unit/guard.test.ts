import { describe, expect, it } from 'vitest';
import { initGuard, stepGuard, defaultRollover, type GuardOptions, type GuardState } from '../../src/machine/guard.js';

/** Feeds raw reads through the guard; returns the totals after each read. */
function run(raws: number[], opts: GuardOptions, initial: 'raw' | 'zero' = 'raw'): { totals: number[]; events: string[]; state: GuardState } {
  let state = initGuard(raws[0], initial);
  const totals = [state.total];
  const events = ['init'];
  for (const raw of raws.slice(1)) {
    const step = stepGuard(state, raw, opts);
    expect(step.state.total).toBe(state.total + step.added);
    expect(step.added).toBeGreaterThanOrEqual(0);
    state = step.state;
    totals.push(state.total);
    events.push(step.event);
  }
  return { totals, events, state };
}

const u16 = { rollover: 2 ** 16 };
const u32 = { rollover: 2 ** 32 };

describe('incrementality guard', () => {
  it('starts at the raw value, or at zero with initialCount: zero', () => {
    expect(initGuard(1234, 'raw').total).toBe(1234);
    expect(initGuard(1234, 'zero').total).toBe(0);
  });

  it('adds rises and ignores unchanged reads', () => {
    const r = run([100, 100, 105, 105, 110], u16);
    expect(r.totals).toEqual([100, 100, 105, 105, 110]);
    expect(r.events).toEqual(['init', 'same', 'rise', 'same', 'rise']);
  });

  it('wraps a 16-bit counter at 65536', () => {
    const r = run([65530, 65535, 3, 10], u16);
    expect(r.totals).toEqual([65530, 65535, 65539, 65546]);
    expect(r.events[2]).toBe('wrap');
  });

  it('wraps a 32-bit counter at 2^32', () => {
    const r = run([4294967290, 4294967295, 4, 6], u32);
    expect(r.totals).toEqual([4294967290, 4294967295, 4294967300, 4294967302]);
    expect(r.events[2]).toBe('wrap');
  });

  it('honours a configured counterRollover (e.g. a counter module that wraps at 10000)', () => {
    const r = run([9990, 9999, 5], { rollover: 10000 });
    expect(r.totals).toEqual([9990, 9999, 10005]);
  });

  it('treats a fall to 0 as a reset and adds nothing for it', () => {
    const r = run([5000, 5010, 0, 7], u16);
    expect(r.totals).toEqual([5000, 5010, 5010, 5017]);
    expect(r.events[2]).toBe('reset');
  });

  it('treats a fall to a small value as a reset and adds what was counted since', () => {
    const r = run([5000, 5010, 4, 9], u16);
    expect(r.totals).toEqual([5000, 5010, 5014, 5019]);
    expect(r.events[2]).toBe('reset');
  });

  it('does not take a fall from mid-range for a wrap', () => {
    const r = run([30000, 2], u16);
    expect(r.events[1]).toBe('reset');
    expect(r.totals[1]).toBe(30002);
  });

  it('a counter without a rollover (no type range) treats every fall as a reset', () => {
    const r = run([65535, 3], {});
    expect(r.events[1]).toBe('reset');
    expect(r.totals[1]).toBe(65538);
  });

  it('holds a jump above maxCountJump and adds it once the next read confirms it', () => {
    const r = run([100, 110, 5000, 5003], { ...u16, maxJump: 1000 });
    expect(r.events).toEqual(['init', 'rise', 'held', 'rise']);
    expect(r.totals).toEqual([100, 110, 110, 5003]);
  });

  it('drops a jump that the next read does not confirm', () => {
    const r = run([100, 110, 60000, 112, 115], { ...u16, maxJump: 1000 });
    expect(r.events).toEqual(['init', 'rise', 'held', 'glitch', 'rise']);
    expect(r.totals).toEqual([100, 110, 110, 112, 115]);
  });

  it('a single bad read of 0 does not count the whole counter again', () => {
    const r = run([7000, 7005, 0, 7008], { ...u16, maxJump: 1000 });
    expect(r.totals).toEqual([7000, 7005, 7005, 7008]);
  });

  it('a real reset is still counted when the next read confirms it', () => {
    const r = run([7000, 7005, 0, 3], { ...u16, maxJump: 1000 });
    expect(r.totals).toEqual([7000, 7005, 7005, 7008]);
    expect(r.events[3]).toBe('reset');
  });

  it('a held value that is followed by another glitch is judged again', () => {
    const r = run([100, 9000, 20000, 105], { ...u16, maxJump: 1000 });
    expect(r.totals[r.totals.length - 1]).toBe(105);
  });

  it('the total never decreases and never repeats a delivered value over a long noisy run', () => {
    // Deterministic pseudo-random PLC: rises, resets, wraps, glitches.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let raw = 60000;
    const raws = [raw];
    for (let i = 0; i < 5000; i++) {
      const p = rnd();
      if (p < 0.01) raw = 0;
      else if (p < 0.02) raws.push(Math.floor(rnd() * 65536));
      else raw = (raw + Math.floor(rnd() * 20)) % 65536;
      raws.push(raw);
    }
    const r = run(raws, { ...u16, maxJump: 500 });
    const increases = r.totals.filter((t, i) => i > 0 && t !== r.totals[i - 1]);
    for (let i = 1; i < r.totals.length; i++) expect(r.totals[i]).toBeGreaterThanOrEqual(r.totals[i - 1]);
    expect(new Set(increases).size).toBe(increases.length);
  });

  it('refuses a non-finite raw value', () => {
    expect(() => stepGuard(initGuard(1, 'raw'), Number.NaN, u16)).toThrow(/finite/);
  });

  it('knows the default rollover of each type', () => {
    expect(defaultRollover('uint16')).toBe(65536);
    expect(defaultRollover('int32')).toBe(2 ** 32);
    expect(defaultRollover('float32')).toBeUndefined();
  });
});
