import { describe, expect, it } from 'vitest';
import { Backoff, BACKOFF, backoffDelay, type BackoffPolicy } from '../../src/core/backoff.js';
import { seededRandom } from '../helpers/backoff.js';

const top = () => 0.999_999;
const uplink = BACKOFF.uplink;

describe('backoffDelay', () => {
  it('doubles the uplink ceiling from 1 s per retry up to 60 s', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((a) => backoffDelay(a, uplink, top));
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999, 59_999, 59_999]);
  });

  it('spreads uplink delays over the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, uplink, () => 0)).toBe(0);
    expect(backoffDelay(3, uplink, () => 0.5)).toBe(4000);
    const random = seededRandom();
    const samples = Array.from({ length: 2000 }, () => backoffDelay(2, uplink, random));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(4000);
    expect(new Set(samples).size).toBeGreaterThan(1000);
    for (const d of samples) expect(Number.isInteger(d)).toBe(true);
  });

  it('with a partial jitter stays within the top share of the ceiling', () => {
    const policy: BackoffPolicy = { firstMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };
    expect(backoffDelay(1, policy, () => 0)).toBe(1600);
    expect(backoffDelay(1, policy, top)).toBe(1999);
    expect(backoffDelay(10, policy, top)).toBe(29_999);
  });

  it('without jitter is exact and ignores the random source', () => {
    expect([0, 1, 2, 5, 6].map((a) => backoffDelay(a, BACKOFF.modbus, () => 0.3))).toEqual([1000, 2000, 4000, 30_000, 30_000]);
  });

  it('takes first delay, factor and cap from the policy', () => {
    const policy = { firstMs: 200, factor: 3, maxMs: 5000, jitter: 1 };
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, policy, top))).toEqual([199, 599, 1799, 4999, 4999]);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, uplink, top)).toBe(999);
  });
});

describe('Backoff', () => {
  it('grows per failure and starts over after a success', () => {
    const b = new Backoff(BACKOFF.modbus, Math.random);
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('draws its jitter from the source it was given', () => {
    const draws: number[] = [];
    const b = new Backoff(BACKOFF.opcua, () => {
      draws.push(0);
      return 0;
    });
    expect([b.next(), b.next()]).toEqual([400, 800]);
    expect(draws).toHaveLength(2);
  });
});
