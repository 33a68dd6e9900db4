import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import { startMqttSensorSim } from '../../src/sim/mqtt-sensor.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { mqttDevice, topicPrefix } from '../helpers/mosquitto-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventuallyPasses } from '../helpers/wait.js';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.cleanup();
});

function device(t: string) {
  return mqttDevice({ url: broker.url }, [
    {
      code: 'M1',
      count: { topic: `${t}/m1`, path: 'data.count' },
      waste: [{ code: 'W1', source: { topic: `${t}/m1`, path: 'data.waste' } }],
      running: { topic: `${t}/m1/state` },
      stopReason: { source: { topic: `${t}/m1`, path: 'reason' }, map: { 3: 'Setup' }, default: 'Unplanned' },
      parameters: [{ code: 'temperature', source: { topic: `${t}/m1/params`, path: 'values.0', scale: 0.1 } }],
    },
    { code: 'M2', count: { topic: `${t}/m2/count` }, downtimeType: 'Unplanned' },
  ]);
}

describe('mqtt sensor simulator', () => {
  it('publishes what probe reads back', async () => {
    const t = topicPrefix();
    const dev = device(t);
    const sim = startMqttSensorSim({ device: dev });
    try {
      for (let i = 0; i < 3; i++) await sim.tick();
      const rows = await createMqttAdapter(dev, adapterContext(new RecordingSink()), { probeWaitMs: 5000 }).probe();
      const values = Object.fromEntries(rows.map((r) => [`${r.machine} ${r.signal}`, r.value ?? r.error]));
      expect(values).toEqual({
        'M1 count': 6,
        'M1 waste:W1': 0,
        'M1 running': true,
        'M1 stopReason': 3,
        'M1 param:temperature': expect.closeTo(21.48, 6),
        'M2 count': 6,
      });
      expect(rows.find((r) => r.signal === 'running')?.raw).toBe('ON');
    } finally {
      await sim.close();
    }
  });

  it('drives a running adapter through a run and a stop on its own timer', async () => {
    const t = topicPrefix();
    const dev = device(t);
    const sink = new RecordingSink();
    const adapter = createMqttAdapter(dev, adapterContext(sink));
    const sim = startMqttSensorSim({ device: dev, tickMs: 20 });
    try {
      await adapter.start();
      await eventuallyPasses(() => {
        expect(sink.values('running')).toContain(false);
        expect(sink.values('waste:W1')).toContain(1);
      });
      const counts = sink.values('count') as number[];
      expect(counts.length).toBeGreaterThan(1);
      expect(counts.every((c, i) => i === 0 || c >= counts[i - 1])).toBe(true);
      expect(sink.errors).toEqual([]);
    } finally {
      await sim.close();
      await adapter.stop();
    }
  });
});
