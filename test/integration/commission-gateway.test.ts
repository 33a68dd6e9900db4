/**
 * Commissioning's device tools as the running gateway serves them, over HTTP: a unit scan
 * of the serial line a saved device polls, asked by the device's name, finds the units on
 * the line while the status shows that device paused for commissioning, and after it the
 * device polls again.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { UnitScanResult } from '../../src/core/commission.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { commissionDir, writeGrant } from '../../src/web/commission/grant.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startPtyPair } from '../helpers/modbus-socat.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const dir = tempDir('commission-gateway-');
const defer = deferCleanup();

describe('commissioning in the running gateway', () => {
  it('a unit scan of a polled serial line pauses that device visibly, finds units 1 and 2, and polling resumes', async () => {
    const pty = await startPtyPair(dir);
    defer(() => pty.kill());
    const slave = await startPymodbus({ serial: pty.b, units: [1, 2], initial: { 'holding:0': [5] } });
    defer(() => slave.kill());
    const cfg = writeConfig(dir, {
      mesUrl: 'http://127.0.0.1:9',
      devices: {
        rtu1: `device: rtu1
protocol: modbus-rtu
connection: { path: ${pty.a}, unitId: 1, timeoutMs: 300 }
pollIntervalMs: 50
machines:
  - code: M1
    count: { area: holding, address: 0 }
`,
      },
    });
    const config = loadConfig(cfg.gatewayFile);
    const gateway = await Gateway.start({ config, logger: pino({ level: 'silent' }) });
    defer(() => gateway.stop());
    const device = () => gateway.view.status().devices[0];
    await eventually(
      () => device().state,
      (s) => s === 'connected',
      20_000,
      'the device polling',
    );

    const origin = new URL(gateway.url).origin;
    const { token } = writeGrant(commissionDir(config.gateway.storage.path), Date.now(), 10);
    const opened = await fetch(new URL('/api/commission/session', gateway.url), { method: 'POST', headers: { origin }, body: JSON.stringify({ token }) });
    expect(opened.status).toBe(200);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0];
    const { csrf } = (await opened.json()) as { csrf: string };
    const api = async (path: string, body?: unknown) => {
      const res = await fetch(new URL(`/api/commission/${path}`, gateway.url), {
        method: body === undefined ? 'GET' : 'POST',
        headers: { cookie, origin, 'x-csrf-token': csrf },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { id: string; state: string; results: UnitScanResult[] };
    };

    // Ids 3-20 are silent: the scan lasts a few seconds, long enough to see the pause.
    const started = await api('jobs', { kind: 'modbus.units', params: { device: 'rtu1', from: 1, to: 20 } });
    expect(started.state).toBe('running');
    await eventually(
      () => device().paused,
      (p) => p === 'commissioning',
      10_000,
      'the device shown paused',
    );
    const status = (await (await fetch(new URL('/api/status', gateway.url))).json()) as GatewayStatus;
    expect(status.devices[0]).toMatchObject({ id: 'rtu1', paused: 'commissioning' });

    const job = await eventually(
      () => api(`jobs/${started.id}`),
      (j) => j.state !== 'running',
      60_000,
      'the scan to end',
    );
    expect(job.state).toBe('done');
    expect(job.results.filter((u) => u.present).map((u) => u.unitId)).toEqual([1, 2]);
    expect(job.results).toHaveLength(20);
    expect(device().paused).toBeUndefined();

    await slave.set('holding', 0, 9);
    await eventually(
      () => gateway.view.status().machines[0]?.values.count?.value,
      (v) => v === 9,
      20_000,
      'polling after the scan',
    );
  });
});
