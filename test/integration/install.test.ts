/**
 * What a newcomer's `npm install` and the installed command rely on: every dependency's
 * install script is declared in allowScripts (npm 11 warns about the others), and the
 * command says what to do when dist/ was never built.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('install', () => {
  const dir = tempDir();

  it('declares every install script in allowScripts, so npm install warns about none', () => {
    const result = spawnSync('npm', ['approve-scripts', '--allow-scripts-pending'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('No packages with unreviewed install scripts.');
  });

  it('the command without a build says how to build, instead of a module stack trace', () => {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(root, 'bin/shopfloor-gateway.js'), join(dir, 'bin/shopfloor-gateway.js'));
    const result = spawnSync(process.execPath, [join(dir, 'bin/shopfloor-gateway.js'), 'validate'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('shopfloor-gateway is not built: dist/cli/main.js is missing. Run `npm install` (or `npm run build`) in the checkout.\n');
  });
});
