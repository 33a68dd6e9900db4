/**
 * Delay before retrying after a 5xx, a timeout or a connection error (docs/delivery.md#5xx-timeouts-connection-errors).
 * Exponential with full jitter: many gateways of one company that lost the MES at the
 * same moment must not come back in lockstep against the shared 120/min limit.
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. Default 1000 ms. */
  baseMs?: number;
  /** No delay is ever longer than this. Default 60000 ms (one rate-limit window). */
  maxMs?: number;
  /** Growth of the ceiling per further failure. Default 2. */
  factor?: number;
  /** Source of uniform numbers in [0, 1). Default Math.random; tests pass a fixed one. */
  random?: () => number;
}

/**
 * `attempt` counts the retries already made since the last success: 0 for the first. The
 * delay is uniform in [0, min(maxMs, baseMs × factor^attempt)), in whole milliseconds.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const { baseMs = 1000, maxMs = 60_000, factor = 2, random = Math.random } = opts;
  const ceiling = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
