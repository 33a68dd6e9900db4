/** Temporary folders for tests: one removed after each test, one the test removes itself. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';

/**
 * A temporary folder for a suite: emptied after each test, so every test starts with an
 * empty folder at the same path, and removed after the suite.
 */
export function tempDir(prefix = 'sfg-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh temporary folder that lives until `remove()`, e.g. across the tests of a file. */
export function ownedTempDir(prefix = 'sfg-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
