/**
 * A signal that is bad at every poll (NaN in a float register) is counted and shown, never
 * reaches the MES, and is logged once — not at every poll into the journal. A count that is
 * no non-negative integer (-5, 112.5, 1e20) is a bad value too, never a total.
 */
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startGateway } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/wait.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { publisher, topicPrefix } from '../helpers/mosquitto-harness.js';

describe('bad values', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('are counted per signal and logged once, while the good signals keep flowing', async () => {
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { M1: {} } });
    defer(() => mes.close());
    const plc = await startPymodbus();
    defer(() => plc.kill());
    await plc.set('holding', 4, 0x7fc0, 0); // float32 NaN
    const cfg = writeConfig(dir, {
      mesUrl: mes.url,
      devices: {
        plc: `device: plc
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${plc.port} }
pollIntervalMs: 50
machines:
  - code: M1
    count: { area: holding, address: 0 }
    parameters:
      - code: temperature
        source: { area: holding, address: 4, type: float32 }
`,
      },
    });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    const url = String((await gw.waitForLog((l) => l.event === 'web.listening')).url);
    const status = async () => (await (await fetch(`${url}api/status`)).json()) as GatewayStatus;
    const s = await eventually(status, (st) => (st.devices[0]?.signalErrors[0]?.count ?? 0) >= 20, 20_000, '20 bad reads');
    expect(s.devices[0].signalErrors[0]).toMatchObject({ machine: 'M1', signal: 'param:temperature' });
    expect(gw.logs.filter((l) => l.event === 'signal.bad_value')).toHaveLength(1);

    await plc.set('holding', 0, 3);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 3,
      20_000,
      'count delivered',
    );
    expect(mes.state.M1.parameters).toEqual({});
  });

  it('an MQTT count of -5, 112.5, 1e20 or "NaN" never reaches the MES and is shown per signal', async () => {
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { M2: {} } });
    defer(() => mes.close());
    const broker = await startMosquitto();
    defer(() => broker.cleanup());
    const pub = await publisher(broker.url);
    defer(() => pub.close());
    const t = topicPrefix();
    const cfg = writeConfig(tempDir(), {
      mesUrl: mes.url,
      devices: {
        sensors: `device: sensors
protocol: mqtt
connection: { url: "${broker.url}" }
machines:
  - code: M2
    count: { topic: ${t}/count }
`,
      },
    });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    const url = String((await gw.waitForLog((l) => l.event === 'web.listening')).url);
    const status = async () => (await (await fetch(`${url}api/status`)).json()) as GatewayStatus;
    await gw.waitForLog((l) => l.event === 'device.connected');
    await pub.publish(`${t}/count`, '100');
    await gw.waitForLog((l) => l.event === 'counter.first_seen');
    for (const bad of ['-5', '112.5', '1e20', '"NaN"']) await pub.publish(`${t}/count`, bad);
    const s = await eventually(status, (st) => (st.devices[0]?.signalErrors[0]?.count ?? 0) >= 4, 20_000, '4 bad counts');
    expect(s.devices[0].signalErrors).toEqual([expect.objectContaining({ machine: 'M2', signal: 'count', count: 4, lastMessage: 'not a number: "NaN"' })]);
    // The status can answer before the last log line has been read from the process's stdout.
    const reasons = await eventually(
      () => gw.logs.filter((l) => l.event === 'signal.bad_value').map((l) => l.error),
      (r) => r.length >= 4,
      10_000,
      '4 bad-value log lines',
    );
    expect(reasons).toEqual([
      'count is negative: -5',
      'count is not a whole number: 112.5',
      expect.stringMatching(/^count 100000000000000000000 is beyond/),
      'not a number: "NaN"',
    ]);

    // The next good count counts from 100: +20 reaches the MES, not a reset adding 120.
    await pub.publish(`${t}/count`, '120');
    await eventually(
      () => mes.state.M2.count,
      (c) => c === 120,
      20_000,
      'count 120 delivered',
    );
    expect(mes.state.M2.counterLog.map((c) => c.count)).toEqual([120]);
  });
});
