import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { clientOptions, safeUrl } from '../../src/adapters/mqtt/options.js';
import { describeSource, signalsByTopic } from '../../src/adapters/mqtt/signals.js';
import { mqttDevice } from '../helpers/mosquitto-harness.js';

const machines = [
  { code: 'M1', count: { topic: 'plc/1', path: 'count' }, parameters: [{ code: 't', source: { topic: 'plc/1', path: 'temp' } }] },
  { code: 'M2', count: { topic: 'plc/2' } },
];

describe('mqtt client options', () => {
  it('gives the gateway a stable client id from device and host, and the probe and simulator ids of their own', () => {
    const device = mqttDevice({ url: 'mqtt://broker:1883' }, machines);
    const gateway = clientOptions(device, 'gateway').clientId;
    expect(gateway).toBe(`shopfloor-gateway-mqtt-test-${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}`);
    // The same id after a restart is what lets the broker hand the session back.
    expect(clientOptions(device, 'gateway').clientId).toBe(gateway);
    const probes = [clientOptions(device, 'probe').clientId, clientOptions(device, 'probe').clientId];
    expect(probes[0]).toMatch(/^shopfloor-gateway-mqtt-test-probe-[0-9a-f]{8}$/);
    expect(probes[1]).not.toBe(probes[0]);
    expect(clientOptions(device, 'sim').clientId).toMatch(/^shopfloor-gateway-mqtt-test-sim-[0-9a-f]{8}$/);
  });

  it('keeps a configured client id for the gateway and sets it apart for the probe and simulator', () => {
    const device = mqttDevice({ url: 'mqtt://broker:1883', clientId: 'line1', username: 'u', password: 'p' }, machines);
    expect(clientOptions(device, 'gateway')).toMatchObject({ clientId: 'line1', username: 'u', password: 'p' });
    expect(clientOptions(device, 'probe').clientId).toBe('line1-probe');
    expect(clientOptions(device, 'sim').clientId).toBe('line1-sim');
  });

  it('asks for a persistent MQTT 5 session for the gateway only', () => {
    const device = mqttDevice({ url: 'mqtt://broker:1883' }, machines);
    expect(clientOptions(device, 'gateway')).toMatchObject({ protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 86400 } });
    for (const role of ['probe', 'sim'] as const) {
      const o = clientOptions(device, role);
      expect(o).toMatchObject({ protocolVersion: 5, clean: true });
      expect(o.properties?.sessionExpiryInterval).toBeUndefined();
    }
  });

  it('uses a clean MQTT 3.1.1 session with protocolVersion: 4', () => {
    const device = mqttDevice({ url: 'mqtt://broker:1883', protocolVersion: 4 }, machines);
    expect(clientOptions(device, 'gateway')).toMatchObject({ protocolVersion: 4, clean: true });
    expect(clientOptions(device, 'gateway').properties).toBeUndefined();
  });

  it('names an unreadable CA file', () => {
    const device = mqttDevice({ url: 'mqtts://broker:8883', ca: '/nonexistent/ca.pem' }, machines);
    expect(() => clientOptions(device, 'gateway')).toThrow(/^cannot read CA file \/nonexistent\/ca.pem: ENOENT/);
    expect(() => clientOptions(device, 'gateway')).toThrow(
      expect.objectContaining({ code: 'SFG_MQTT_CA_UNREADABLE', cause: expect.objectContaining({ code: 'ENOENT' }) }),
    );
  });

  it('drops credentials from URLs it shows', () => {
    expect(safeUrl('mqtts://user:secret@broker:8883/x')).toBe('mqtts://broker:8883/x');
    expect(safeUrl('ws://broker:9001/mqtt')).toBe('ws://broker:9001/mqtt');
  });
});

describe('mqtt signals', () => {
  it('groups signals by topic across machines, in config order', () => {
    const byTopic = signalsByTopic(mqttDevice({ url: 'mqtt://b' }, machines));
    expect([...byTopic].map(([topic, group]) => [topic, group.map((s) => `${s.machine} ${s.key}`)])).toEqual([
      ['plc/1', ['M1 count', 'M1 param:t']],
      ['plc/2', ['M2 count']],
    ]);
  });

  it('shows a source as topic and path', () => {
    expect(describeSource({ topic: 'plc/1', path: 'a.b' })).toBe('plc/1 a.b');
    expect(describeSource({ topic: 'plc/1' })).toBe('plc/1');
  });
});
