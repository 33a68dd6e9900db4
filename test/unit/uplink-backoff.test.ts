import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/uplink/backoff.js';

const top = () => 0.999_999;

describe('backoffDelay', () => {
  it('doubles its ceiling from 1 s per retry up to 60 s by default', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((a) => backoffDelay(a, { random: top }));
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999, 59_999, 59_999]);
  });

  it('spreads delays over the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, { random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { random: () => 0.5 })).toBe(4000);
    let seed = 42;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(2, { random }));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(4000);
    expect(new Set(samples).size).toBeGreaterThan(1000);
    for (const d of samples) expect(Number.isInteger(d)).toBe(true);
  });

  it('takes base, factor and cap as options', () => {
    const opts = { baseMs: 200, factor: 3, maxMs: 5000, random: top };
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, opts))).toEqual([199, 599, 1799, 4999, 4999]);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, { random: top })).toBe(999);
  });
});
