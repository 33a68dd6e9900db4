/** Drives a RateBudget on a manual clock as an uploader with endless work would, and measures what it let through. */
import type { RateBudget } from '../../src/uplink/rate-budget.js';
import type { ManualClock } from './clocks.js';

/** Sends whenever allowed until `until`; returns the send times. */
export function drive(budget: RateBudget, clock: ManualClock, until: number, sends: number[] = []): number[] {
  for (;;) {
    const wait = budget.delayMs();
    if (clock.now() + wait >= until) return sends;
    clock.set(clock.now() + wait);
    budget.take();
    sends.push(clock.now());
  }
}

/** Largest number of sends in any half-open window of `span` ms (a densest window starts at a send). */
export function maxPerWindow(sends: number[], span = 60_000): number {
  let max = 0;
  for (const start of sends) max = Math.max(max, sends.filter((t) => t >= start && t < start + span).length);
  return max;
}
