/**
 * What a count or waste source may deliver (docs/guard.md, "Bad values"): a non-negative integer within its
 * range. Anything else — negative, fractional, huge, not a number — is a bad value: the
 * guard would take it for a reset, a wrap or production, and the MES refuses fractions.
 * Pure; the machine step reports the reason like any other bad value, `probe` shows it.
 */

/** How close to an integer a scaled value must be to be that integer (0.1 × 1120 is 112.00000000000001). */
const INTEGER_TOLERANCE = 1e-9;

export type CountValue = { ok: true; value: number } | { ok: false; error: string };

/** `rollover`: the counter's modulus (`counterRollover`, else the one its reading carries), if it has one. */
export function checkCountValue(value: unknown, rollover: number | undefined): CountValue {
  if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, error: `count is not a number: ${String(value)}` };
  const rounded = Math.round(value);
  if (Math.abs(value - rounded) > INTEGER_TOLERANCE) return { ok: false, error: `count is not a whole number: ${value}` };
  if (rounded < 0) return { ok: false, error: `count is negative: ${value}` };
  const max = rollover === undefined ? Number.MAX_SAFE_INTEGER : rollover - 1;
  if (rounded > max) return { ok: false, error: `count ${value} is beyond the counter's range (0 to ${max})` };
  return { ok: true, value: rounded };
}
