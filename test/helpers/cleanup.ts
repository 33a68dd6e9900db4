/**
 * Teardown for tests that start servers, processes and browsers. Call `deferCleanup()` once
 * in a suite (after `tempDir()`, so that processes stop before their folder is emptied),
 * then `defer(close)` right after starting each thing. After each test the closers run one
 * at a time in reverse order: last started, first stopped. Every closer runs even when one
 * throws; the first error is then rethrown.
 */
import { afterEach } from 'vitest';

export type Closer = () => unknown;

export function deferCleanup(): (close: Closer) => void {
  const closers: Closer[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return (close) => {
    closers.push(close);
  };
}
