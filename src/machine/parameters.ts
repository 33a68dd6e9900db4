/** Parameter deadband (docs/delivery.md#parameters): a change smaller than the deadband is not a change. */
import type { SignalValue } from '../core/values.js';

/**
 * Whether `value` should be sent, given the last value queued for that parameter.
 * Numbers compare against the deadband (0 = any change); other values on any change.
 */
export function parameterChanged(last: SignalValue | undefined, value: SignalValue, deadband: number): boolean {
  if (last === undefined) return true;
  if (typeof last === 'number' && typeof value === 'number') {
    const diff = Math.abs(value - last);
    return deadband > 0 ? diff >= deadband : diff > 0;
  }
  return last !== value;
}
