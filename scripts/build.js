#!/usr/bin/env node
// Compiles src/ to plain JavaScript in dist/ (what `npm start`, the bin and the service run)
// and copies the status page's static files beside the compiled web server, which serves them
// from its own folder. Run by `npm install` / `npm ci` (prepare) and before the tests.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
// Replaced whole, so a file removed from src/web/page/ is not served from an old build.
rmSync(`${root}dist/web/page`, { recursive: true, force: true });
cpSync(`${root}src/web/page`, `${root}dist/web/page`, { recursive: true });
