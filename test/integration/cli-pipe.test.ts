/**
 * `shopfloor-gateway validate | head -1`: the reader of the output goes away before the
 * verb has written it. The real CLI, with a real pipe whose reading end is closed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

/** Runs the CLI with its stdout closed at once; resolves with the exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('output into a closed pipe', () => {
  const dir = tempDir();
  const device = 'device: d\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1 }\nmachines:\n  - code: M1\n    count: { area: holding, address: 0 }\n';

  it('validate and --help end quietly, without a stack trace', async () => {
    const { gatewayFile } = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { d: device } });
    for (const args of [['validate', '--config', gatewayFile], ['--help']]) {
      const r = await withClosedStdout(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
});
