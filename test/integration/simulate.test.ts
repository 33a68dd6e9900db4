/**
 * `shopfloor-gateway simulate`: the built-in simulators of a configuration, started on
 * their own, answer `probe` for a Modbus TCP and an OPC UA device.
 */
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/sim/free-port.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

describe('simulate', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('serves every loopback Modbus TCP and OPC UA device of the config, for probe', async () => {
    const [modbusPort, opcuaPort, mesPort] = await freePorts(3);
    const cfg = writeConfig(dir, {
      mesUrl: `http://127.0.0.1:${mesPort}`,
      extra: `simulate:\n  mes: { listen: 127.0.0.1:${mesPort} }\n`,
      devices: {
        press: `device: press
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${modbusPort} }
machines:
  - code: PRESS01
    count: { area: holding, address: 0, type: uint32 }
`,
        line: `device: line
protocol: opcua
connection: { endpointUrl: "opc.tcp://127.0.0.1:${opcuaPort}", trustOnFirstUse: true, mode: poll }
machines:
  - code: LINE1
    count: { nodeId: "ns=1;s=Line1.Count" }
    running: { nodeId: "ns=1;s=Line1.Running" }
    downtimeType: Unplanned
    parameters:
      - code: speed
        source: { nodeId: "ns=1;s=Line1.Speed" }
`,
      },
    });
    const child = spawn(process.execPath, [bin, 'simulate', '--config', cfg.gatewayFile], {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    defer(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('simulators did not start')), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('simulators running')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const probe = (device: string) =>
      promisify(execFile)(process.execPath, [bin, 'probe', device, '--config', cfg.gatewayFile], { env: { ...process.env, CI: 'true' } });
    expect((await probe('press')).stdout).toMatch(/PRESS01\s+count\s+holding 0 uint32\s+\S+ \S+\s+\d+/);
    const line = (await probe('line')).stdout;
    expect(line).toMatch(/LINE1\s+count\s+ns=1;s=Line1\.Count\s.*\d/);
    expect(line).toMatch(/LINE1\s+running\s+ns=1;s=Line1\.Running\s.*(true|false)/);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
