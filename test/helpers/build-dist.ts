/**
 * Vitest global setup: compiles src/ into dist/ once per run, so every test that starts
 * `bin/shopfloor-gateway.js` runs the JavaScript production runs, built from the sources
 * under test (never a dist/ left over from an older checkout).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.js', import.meta.url))], { stdio: 'inherit' });
}
