import { describe, expect, it } from 'vitest';
import { checkCountValue } from '../../src/machine/count-value.js';
import { scaled } from '../../src/adapters/signals.js';

const error = (value: unknown, rollover?: number) => {
  const r = checkCountValue(value, rollover);
  return r.ok ? undefined : r.error;
};

describe('count and waste values', () => {
  it('takes a non-negative integer within the range', () => {
    expect(checkCountValue(0, 65536)).toEqual({ ok: true, value: 0 });
    expect(checkCountValue(65535, 65536)).toEqual({ ok: true, value: 65535 });
    expect(checkCountValue(2 ** 40, undefined)).toEqual({ ok: true, value: 2 ** 40 });
  });

  it('refuses negative, fractional, huge and non-numbers with a reason', () => {
    expect(error(-5)).toMatch(/negative/);
    expect(error(112.5)).toMatch(/whole number/);
    expect(error(1e20)).toMatch(/beyond the counter's range/);
    expect(error(Number.NaN)).toMatch(/not a number/);
    expect(error(Number.POSITIVE_INFINITY)).toMatch(/not a number/);
    expect(error('12')).toMatch(/not a number/);
    expect(error(true)).toMatch(/not a number/);
  });

  it('refuses a value at or beyond the rollover (counterRollover or the type range)', () => {
    expect(error(10000, 10000)).toMatch(/0 to 9999/);
    expect(error(9999, 10000)).toBeUndefined();
  });

  it('takes a scaled value that is an integer up to float error, and refuses one that is not', () => {
    expect(checkCountValue(scaled(1120, { scale: 0.1 }), undefined)).toEqual({ ok: true, value: 112 });
    expect(checkCountValue(1120 * 0.1, undefined)).toEqual({ ok: true, value: 112 });
    expect(error(scaled(1125, { scale: 0.1 }))).toMatch(/whole number: 112.5/);
  });
});
