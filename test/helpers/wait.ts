/**
 * Waiting for something to happen, without fixed sleeps. Both are bounds (generous by
 * default), not timing assertions. Use `eventually` to poll a value until it is right and
 * go on with it, `eventuallyPasses` to retry `expect` calls until they hold.
 */
import { vi } from 'vitest';

/**
 * Polls `probe` every 20 ms until `ok` holds for its value and returns that value; fails
 * after `timeoutMs`, naming `what` and the last value seen. For a plain condition:
 * `eventually(() => cond, (ok) => ok, 20_000, 'what')`.
 */
export async function eventually<T>(probe: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what} not reached; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Retries an assertion every 20 ms until it passes (vi.waitFor); fails with its last error after `timeoutMs`. */
export function eventuallyPasses(assertion: () => void | Promise<void>, timeoutMs = 20_000): Promise<void> {
  return vi.waitFor(assertion, { timeout: timeoutMs, interval: 20 });
}
