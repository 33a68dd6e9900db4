/**
 * The whole pipeline for real: the gateway process reads Debian's pymodbus over Modbus
 * TCP and delivers to the MES sandbox over HTTP. The sandbox must end with exactly what
 * the PLC produced, through a reset and a 16-bit wrap.
 */
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startGateway } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const device = (port: number) => `device: press
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, unitId: 1, timeoutMs: 1000 }
pollIntervalMs: 100
machines:
  - code: "PRESS 01"
    count: { area: holding, address: 0, type: uint16 }
    waste:
      - code: Waste1
        source: { area: holding, address: 1 }
      - code: Waste2
        source: { area: holding, address: 2 }
    running: { area: coil, address: 0 }
    stopReason:
      source: { area: holding, address: 3 }
      map: { 1: Maintenance, 2: Setup }
      default: Unplanned
    parameters:
      - code: temperature
        source: { area: holding, address: 4, type: int16, scale: 0.1 }
        deadband: 0.5
`;

describe('gateway end to end on Modbus TCP (pymodbus) and the MES sandbox', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('delivers counts through a reset, a preset and a wrap, two waste codes, a stop with its reason, and parameters', async () => {
    const M = 'PRESS 01';
    const mes = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
      machines: { [M]: { waste: ['Waste1', 'Waste2'], downtimeTypes: ['Maintenance', 'Setup', 'Unplanned'] } },
    });
    defer(() => mes.close());
    const plc = await startPymodbus();
    defer(() => plc.kill());
    await plc.set('holding', 0, 100, 0, 0, 0, 253);
    await plc.set('coil', 0, 1);
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { press: device(plc.port) } });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.signal === 'count');
    const state = () => mes!.state[M];

    // A first parameter value is delivered; the counter starts where the PLC display is.
    await eventually(
      () => state()?.parameters.temperature,
      (v) => v === 25.3,
      20_000,
      'first temperature',
    );

    await plc.set('holding', 0, 150);
    await eventually(
      () => state().count,
      (c) => c === 150,
      20_000,
      'count 150',
    );

    // Shift change: the PLC counter is reset and counts 30 more.
    await plc.set('holding', 0, 0);
    await gw.waitForLog((l) => l.event === 'counter.reset');
    await plc.set('holding', 0, 30);
    await eventually(
      () => state().count,
      (c) => c === 180,
      20_000,
      'count after reset',
    );

    // Preset near the top of the 16-bit range: no production explains the jump, so counting
    // goes on from there without adding it; then the counter wraps.
    await plc.set('holding', 0, 65530);
    await gw.waitForLog((l) => l.event === 'counter.rebaseline' && l.raw === 65530);
    await plc.set('holding', 0, 10);
    await gw.waitForLog((l) => l.event === 'counter.wrap');
    await eventually(
      () => state().count,
      (c) => c === 180 + 16,
      20_000,
      'count after wrap',
    );

    await plc.set('holding', 1, 5, 7);
    await eventually(
      () => state().waste,
      (w) => w.Waste1 === 5 && w.Waste2 === 7,
      20_000,
      'waste',
    );

    // A stop for set-up, then running again.
    await plc.set('holding', 3, 2);
    await plc.set('coil', 0, 0);
    await eventually(
      () => state().startstop.length,
      (n) => n === 1,
      20_000,
      'stop',
    );
    await plc.set('coil', 0, 1);
    await eventually(
      () => state().startstop.length,
      (n) => n === 2,
      20_000,
      'run',
    );
    expect(state().startstop.map((s) => [s.type, s.running])).toEqual([
      ['Setup', 0],
      ['Setup', 1],
    ]);

    // Within the deadband: not sent; beyond it: sent.
    await plc.set('holding', 4, 255);
    await plc.set('holding', 4, 262);
    await eventually(
      () => state().parameters.temperature,
      (v) => v === 26.2,
      20_000,
      'temperature 26.2',
    );
    expect(state().parameterLog.map((p) => p.value)).not.toContain(25.5);

    expect(state().count).toBe(196);
    const counts = state()
      .counterLog.map((c) => c.count)
      .filter((c): c is number => c !== undefined);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBe(counts.length);
    expect(mes.requests.every((r) => r.status === 200)).toBe(true);

    // Ctrl-C / systemd stop: a clean exit with the database closed.
    expect(await gw.kill('SIGINT')).toBe(0);
    expect(gw.logs.some((l) => l.event === 'gateway.stopped')).toBe(true);
  });
});
