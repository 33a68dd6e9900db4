/**
 * `shopfloor-gateway probe <device>` as a technician runs it, against each kind of
 * simulator: a table of every signal, exit 0 when all were read, 1 when any failed.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { freePort } from '../../src/sim/free-port.js';
import { startMqttSensorSim } from '../../src/sim/mqtt-sensor.js';
import { startOpcuaSim } from '../../src/sim/opcua-server.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { publisher, topicPrefix } from '../helpers/mosquitto-harness.js';
import { writeConfig } from '../helpers/config-files.js';
import { startPtyPair } from '../helpers/modbus-socat.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

async function probe(configFile: string, device: string): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [bin, 'probe', device, '--config', configFile], { env: { ...process.env, CI: 'true' } });
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const modbusYaml = (port: number) => `device: press
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 500 }
machines:
  - code: PRESS01
    count: { area: holding, address: 0, type: uint32 }
    waste:
      - code: Waste1
        source: { area: holding, address: 2 }
    running: { area: coil, address: 0 }
    downtimeType: Unplanned
    parameters:
      - code: temperature
        source: { area: input, address: 0, type: int16, scale: 0.1 }
`;

describe('probe', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('prints every Modbus signal with its source, raw words and value', async () => {
    const port = await freePort();
    const yaml = modbusYaml(port);
    const device = deviceSchema.parse((await import('yaml')).parse(yaml)) as DeviceOf<'modbus-tcp'>;
    const sim = await startModbusPlcSim({ port, device, tickMs: 0 });
    defer(() => sim.close());
    sim.set('PRESS01', 'count', 70000);
    sim.set('PRESS01', 'param:temperature', 25.3);
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { press: yaml } });
    const r = await probe(cfg.gatewayFile, 'press');
    expect(r.code).toBe(0);
    const line = (signal: string) => r.out.split('\n').find((l) => l.includes('PRESS01') && l.includes(signal)) ?? '';
    expect(line(' count')).toMatch(/holding 0 uint32.*70000/);
    expect(line('param:temperature')).toMatch(/input 0 int16.*25\.3/);
    expect(line('waste:Waste1')).toMatch(/holding 2/);
    expect(line('running')).toMatch(/coil 0/);
  });

  it('exits 1 and says why when the PLC does not answer', async () => {
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { press: modbusYaml(await freePort()) } });
    const r = await probe(cfg.gatewayFile, 'press');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ECONNREFUSED|cannot connect|refused/i);
  });

  it('runs before the MES keys exist: unset variables are named, not fatal', async () => {
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { press: modbusYaml(await freePort()) } });
    writeFileSync(cfg.gatewayFile, readFileSync(cfg.gatewayFile, 'utf8').replace('apiKey: test-key', 'apiKey: ${PROBE_TEST_UNSET_KEY}'));
    const r = await probe(cfg.gatewayFile, 'press');
    expect(r.out).toMatch(/note: PROBE_TEST_UNSET_KEY not set; used as placeholders/);
    expect(r.out).toMatch(/PRESS01\s+count\s+holding 0 uint32/);
    // A real mistake still stops it.
    writeFileSync(cfg.gatewayFile, readFileSync(cfg.gatewayFile, 'utf8').replace('requestsPerMinute: 100', 'requestsPerMinute: lots'));
    const bad = await probe(cfg.gatewayFile, 'press');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/requestsPerMinute/);
  });

  it('names the known devices when the id is wrong', async () => {
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { press: modbusYaml(1502) } });
    const r = await probe(cfg.gatewayFile, 'presss');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/unknown device "presss".*press/);
  });

  it('shows the downtime type a stop reason maps to, and when it is not in the map', async () => {
    const port = await freePort();
    const yaml = `device: press
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 500 }
machines:
  - code: PRESS01
    running: { area: coil, address: 0 }
    stopReason: { area: holding, address: 4, map: { "2": Setup }, default: Unplanned }
  - code: PRESS02
    running: { area: coil, address: 1 }
    stopReason: { area: holding, address: 5, map: { "2": Setup } }
    downtimeType: Breakdown
`;
    const device = deviceSchema.parse((await import('yaml')).parse(yaml)) as DeviceOf<'modbus-tcp'>;
    const sim = await startModbusPlcSim({ port, device, tickMs: 0 });
    defer(() => sim.close());
    sim.set('PRESS01', 'stopReason', 2);
    sim.set('PRESS02', 'stopReason', 9);
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { press: yaml } });
    const r = await probe(cfg.gatewayFile, 'press');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PRESS01\s+stopReason\s+holding 4 uint16\s+0002\s+2 \(Setup\)\n/);
    expect(r.out).toMatch(/PRESS02\s+stopReason\s+holding 5 uint16\s+0009\s+9 \(Breakdown, not in map\)\n/);
  });

  it('says the running gateway holds a serial port that cannot be locked', async () => {
    const pty = await startPtyPair(dir);
    defer(() => pty.kill());
    // What the gateway does with its serial ports: open (and lock) them for as long as it runs.
    const { SerialPort } = await import('serialport');
    const held = await new Promise<InstanceType<typeof SerialPort>>((resolve, reject) => {
      const p = new SerialPort({ path: pty.a, baudRate: 9600 }, (err) => (err ? reject(err) : resolve(p)));
    });
    defer(() => new Promise<void>((done) => held.close(() => done())));
    const yaml = `device: rtu
protocol: modbus-rtu
connection: { path: ${pty.a}, timeoutMs: 300 }
machines:
  - code: M1
    count: { area: holding, address: 0 }
`;
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { rtu: yaml } });
    const r = await probe(cfg.gatewayFile, 'rtu');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Cannot lock port/);
    expect(r.out).toContain(`${pty.a} is held by another program, most likely the running gateway`);
    expect(r.out).toMatch(/stop it first \(systemctl stop shopfloor-gateway\), or read the values on its status page/);
  });

  it('reads an MQTT sensor through the broker', async () => {
    const broker: Mosquitto = await startMosquitto();
    defer(() => broker.cleanup());
    const yaml = `device: sensors
protocol: mqtt
connection: { url: "${broker.url}" }
machines:
  - code: PACK01
    count: { topic: probe/pack01, path: counter }
    running: { topic: probe/pack01, path: state }
    downtimeType: Unplanned
`;
    const device = deviceSchema.parse((await import('yaml')).parse(yaml)) as DeviceOf<'mqtt'>;
    const sim = startMqttSensorSim({ device, tickMs: 0 });
    defer(() => sim.close());
    await sim.tick();
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { sensors: yaml } });
    const r = await probe(cfg.gatewayFile, 'sensors');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PACK01.*count.*probe\/pack01 counter.*\d/);
  });

  it('shows a count the gateway would refuse (-5, 112.5) as the error, not as a value', async () => {
    const broker: Mosquitto = await startMosquitto();
    defer(() => broker.cleanup());
    const pub = await publisher(broker.url);
    defer(() => pub.close());
    const t = topicPrefix();
    await pub.publish(`${t}/count`, '-5', true);
    await pub.publish(`${t}/scrap`, '112.5', true);
    const yaml = `device: sensors
protocol: mqtt
connection: { url: "${broker.url}" }
machines:
  - code: PACK01
    count: { topic: ${t}/count }
    waste:
      - code: Scrap
        source: { topic: ${t}/scrap }
`;
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { sensors: yaml } });
    const r = await probe(cfg.gatewayFile, 'sensors');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/PACK01 +count .*count is negative: -5/);
    expect(r.out).toMatch(/PACK01 +waste:Scrap .*count is not a whole number: 112.5/);
  });

  it('reads an OPC UA server (trusting it on first use) and reports a bad node per signal', async () => {
    const port = await freePort();
    const sim = await startOpcuaSim({ port, pkiDir: `${dir}/server-pki` });
    defer(() => sim.close());
    sim.set('Line1.Counter', 4242);
    const yaml = `device: line1
protocol: opcua
connection: { endpointUrl: "${sim.endpointUrl}", mode: poll, trustOnFirstUse: true }
machines:
  - code: LINE1
    count: { nodeId: "ns=1;s=Line1.Counter" }
    running: { nodeId: "ns=1;s=Line1.Running" }
    downtimeType: Unplanned
    parameters:
      - code: missing
        source: { nodeId: "ns=1;s=Line1.NoSuchNode" }
`;
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { line1: yaml } });
    const r = await probe(cfg.gatewayFile, 'line1');
    expect(r.out).toMatch(/LINE1\s+count\s+ns=1;s=Line1\.Counter.*4242/);
    expect(r.out).toMatch(/param:missing.*BadNodeIdUnknown/);
    expect(r.code).toBe(1);
  });
});
