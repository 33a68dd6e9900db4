/** What a CLI verb called in-process printed, stdout and stderr apart. */
import { afterEach, vi } from 'vitest';

export function captureOutput(): { stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  return { stdout: () => out.join(''), stderr: () => err.join('') };
}

/** Call at the top of a test file that uses captureOutput. */
export function restoreOutputAfterEach(): void {
  afterEach(() => vi.restoreAllMocks());
}
