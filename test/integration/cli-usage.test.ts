/**
 * Every verb answers --help with its own usage (exit 0) and a wrong command line with one
 * line saying what is wrong plus the usage (exit 2); never a stack trace.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput, restoreOutputAfterEach } from '../helpers/capture-output.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));
const verbs = ['run', 'validate', 'probe', 'simulate', 'outbox', 'rebase', 'trust'];

restoreOutputAfterEach();

describe('command line usage', () => {
  it.each(verbs)('%s --help and -h print its usage and exit 0', async (verb) => {
    for (const flag of ['--help', '-h']) {
      const io = captureOutput();
      expect(await main([verb, flag])).toBe(0);
      expect(io.stdout()).toMatch(new RegExp(`^usage: shopfloor-gateway ${verb} .*\\n\\n.+\\n\\n  -c, --config FILE`));
      expect(io.stderr()).toBe('');
      vi.restoreAllMocks();
    }
  });

  it.each(verbs)('%s with an unknown option says so in one line, then the usage, exit 2', async (verb) => {
    const io = captureOutput();
    expect(await main([verb, '--foo', 'x'])).toBe(2);
    expect(io.stderr()).toMatch(new RegExp(`^unknown option --foo\\nusage: shopfloor-gateway ${verb} [^\\n]*\\n$`));
    expect(io.stdout()).toBe('');
  });

  it('suggests the option a typo meant; help <verb> is <verb> --help', async () => {
    let io = captureOutput();
    expect(await main(['run', '--conifg', 'x.yaml'])).toBe(2);
    expect(io.stderr().split('\n')[0]).toBe('unknown option --conifg; did you mean --config?');
    vi.restoreAllMocks();
    io = captureOutput();
    expect(await main(['help', 'rebase'])).toBe(0);
    expect(io.stdout()).toMatch(/^usage: shopfloor-gateway rebase <machine> <count the MES shows> \[--waste CODE=QTY \.\.\.\]/);
  });

  it('a missing argument of a verb is a usage error too', async () => {
    const io = captureOutput();
    expect(await main(['outbox', 'retry'])).toBe(2);
    expect(await main(['rebase', 'M1', 'lots'])).toBe(2);
    expect(await main(['probe'])).toBe(2);
    expect(io.stderr()).toBe(
      [
        'outbox retry needs a dead letter id (see: shopfloor-gateway outbox dead)',
        'usage: shopfloor-gateway outbox [list | dead | retry ID | drop ID] [--config FILE]',
        'give the machine and the count the MES shows (whole numbers, 0 or more)',
        'usage: shopfloor-gateway rebase <machine> <count the MES shows> [--waste CODE=QTY ...] [--set] [--config FILE]',
        'which device? give its id',
        'usage: shopfloor-gateway probe <device> [--config FILE]',
        '',
      ].join('\n'),
    );
  });

  it('the installed command prints no stack trace', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const help = await cli('outbox', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: shopfloor-gateway outbox/);
    const bad = await cli('simulate', '--conifg', 'x.yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'unknown option --conifg; did you mean --config?\nusage: shopfloor-gateway simulate [--config FILE] [--mes-listen HOST:PORT] [--no-plcs]\n',
    );
  });
});
