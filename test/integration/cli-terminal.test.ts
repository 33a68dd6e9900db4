/**
 * `npm start` in a terminal: the log is pino-pretty's, written in the gateway's own thread
 * (dist/ bundles pino, so no transport worker starts by file path), and Ctrl-C stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../src/sim/free-port.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { modbusDevice, writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe('the gateway in a terminal', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('logs readable lines, not JSON, and stops cleanly on Ctrl-C, still logging', async () => {
    const [mes, plc] = await freePorts(2);
    const { gatewayFile } = writeConfig(dir, { mesUrl: `http://127.0.0.1:${mes}`, devices: { plc: modbusDevice('plc', plc, 'M1', 0) }, logLevel: 'info' });
    const env = { ...process.env };
    delete env.CI;
    // script(1) gives the gateway a pseudo-terminal as stdout. It runs the command through
    // $SHELL -c; exec, because dash (CI has no SHELL: /bin/sh) stays as the parent in the
    // terminal's process group and dies of the Ctrl-C itself, whatever the gateway does.
    const command = ['exec', ...[process.execPath, bin, 'run', '--config', gatewayFile].map(quote)].join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    defer(async () => {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    await eventually(
      () => out,
      (text) => text.includes('gateway started'),
      20_000,
      'the started line',
    );
    // Ctrl-C, as the README says: the terminal sends the gateway SIGINT (handled once started).
    child.stdin!.write('\x03');
    // script -e exits with the gateway's code: 0 is a clean stop, 130 a death by SIGINT.
    expect(await exited).toBe(0);
    expect(out).toMatch(/\[\d\d:\d\d:\d\d\] .*INFO.*: .*status page listening/);
    expect(out).toContain('event');
    // Not the very last line: script may exit before it has copied that one from the terminal.
    expect(out).toContain('shutting down');
    expect(out).not.toContain('{"level"');
  });
});
