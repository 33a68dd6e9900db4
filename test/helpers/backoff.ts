/** Backoff settings for tests: retries at a steady, short pace, and a random source that repeats. */
import type { BackoffPolicy, Random } from '../../src/core/backoff.js';

/** Every retry after `ms`, no jitter: reconnect tests on a real clock stay short. */
export function fixedBackoff(ms: number): BackoffPolicy {
  return { firstMs: ms, maxMs: ms, factor: 2, jitter: 0 };
}

/** A seeded Park–Miller generator in [0, 1): the same sequence every run. */
export function seededRandom(seed = 42): Random {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}
