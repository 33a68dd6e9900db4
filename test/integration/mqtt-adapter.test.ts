import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { mqttDevice, publisher, topicPrefix, type Publisher } from '../helpers/mosquitto-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventuallyPasses } from '../helpers/wait.js';
import { fixedBackoff } from '../helpers/backoff.js';
import { recordingLogger } from '../helpers/log-lines.js';

let broker: Mosquitto;
let pub: Publisher;
const adapters: DeviceAdapter[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  pub = await publisher(broker.url);
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await pub?.close();
  await broker?.cleanup();
});

async function startAdapter(machines: Record<string, unknown>[], connection: Record<string, unknown> = {}) {
  const sink = new RecordingSink();
  const adapter = createMqttAdapter(mqttDevice({ url: broker.url, ...connection }, machines), adapterContext(sink));
  adapters.push(adapter);
  await adapter.start();
  await eventuallyPasses(() => expect(sink.state).toBe('connected'));
  return sink;
}

describe('mqtt adapter', () => {
  it('reads a counter through a JSON path and as a bare value', async () => {
    const t = topicPrefix();
    // Retained, so that seeing it proves the subscriptions are in place before we publish more.
    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 100 } }), true);
    const sink = await startAdapter([
      { code: 'M1', count: { topic: `${t}/doc`, path: 'data.counter' }, waste: [{ code: 'W1', source: { topic: `${t}/waste` } }] },
    ]);
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([100]));
    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 101 }, other: 'x' }));
    await pub.publish(`${t}/waste`, '7');
    await eventuallyPasses(() => {
      expect(sink.values('count').at(-1)).toBe(101);
      expect(sink.values('waste:W1')).toEqual([7]);
    });
    const reading = sink.batches.flat().find((r) => r.signal === 'waste:W1');
    // An MQTT counter has no type: it wraps at the documented default unless counterRollover says otherwise.
    expect(reading).toMatchObject({ machine: 'M1', value: 7, raw: 7, rollover: 2 ** 32 });
    expect(sink.batches.flat().find((r) => r.signal === 'count')?.rollover).toBe(2 ** 32);
    expect(typeof reading?.at).toBe('number');
    expect(sink.errors).toEqual([]);
  });

  it('reads running from ON/OFF and true/false', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/state`, 'ON', true);
    await pub.publish(`${t}/json`, JSON.stringify({ run: true }), true);
    const sink = await startAdapter([
      { code: 'M1', running: { topic: `${t}/state` }, downtimeType: 'Unplanned' },
      { code: 'M2', running: { topic: `${t}/json`, path: 'run' }, downtimeType: 'Unplanned' },
    ]);
    await eventuallyPasses(() => {
      expect(sink.values('running', 'M1')).toEqual([true]);
      expect(sink.values('running', 'M2')).toEqual([true]);
    });
    await pub.publish(`${t}/state`, 'off');
    await pub.publish(`${t}/json`, JSON.stringify({ run: false }));
    await eventuallyPasses(() => {
      expect(sink.values('running', 'M1')).toEqual([true, false]);
      expect(sink.values('running', 'M2')).toEqual([true, false]);
    });
  });

  it('speaks MQTT 3.1.1 with protocolVersion: 4, for brokers without MQTT 5', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/count`, '41', true);
    const sink = await startAdapter([{ code: 'M1', count: { topic: `${t}/count` } }], { protocolVersion: 4 });
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([41]));
    await pub.publish(`${t}/count`, '42');
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([41, 42]));
  });

  it('sees retained values at start, one batch for the signals of a shared topic', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/plc`, JSON.stringify({ count: 5000, temp: 215, state: 'RUNNING', reason: 2 }), true);
    const sink = await startAdapter([
      {
        code: 'M1',
        count: { topic: `${t}/plc`, path: 'count' },
        running: { topic: `${t}/plc`, path: 'state' },
        stopReason: { source: { topic: `${t}/plc`, path: 'reason' }, map: { 2: 'Setup' }, default: 'Unplanned' },
        parameters: [{ code: 'temperature', source: { topic: `${t}/plc`, path: 'temp', scale: 0.1 } }],
      },
    ]);
    await eventuallyPasses(() => expect(sink.batches.length).toBeGreaterThan(0));
    const batch = sink.batches[0];
    expect(batch.map((r) => [r.signal, r.value, r.rollover])).toEqual([
      ['count', 5000, 2 ** 32],
      ['running', true, undefined],
      ['stopReason', 2, undefined],
      ['param:temperature', 21.5, undefined],
    ]);
  });

  it('counts garbage as signal errors, delivers nothing of it, and keeps working', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 1 } }), true);
    const sink = await startAdapter([
      { code: 'M1', count: { topic: `${t}/doc`, path: 'data.counter' }, waste: [{ code: 'W1', source: { topic: `${t}/bare` } }] },
    ]);
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([1]));
    const before = sink.batches.length;
    await pub.publish(`${t}/doc`, 'not json at all');
    await pub.publish(`${t}/doc`, JSON.stringify({ other: 1 }));
    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 'NaN' } }));
    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 'abc' } }));
    await pub.publish(`${t}/doc`, Buffer.alloc(1024 * 1024, 0x37));
    await pub.publish(`${t}/bare`, 'abc');
    await pub.publish(`${t}/bare`, 'NaN');
    await eventuallyPasses(() => {
      expect(sink.errorsOf('count')).toHaveLength(5);
      expect(sink.errorsOf('waste:W1')).toHaveLength(2);
    });
    expect(sink.errorsOf('count')).toEqual([
      expect.stringMatching(/^payload is not JSON/),
      'path data.counter: nothing at data',
      'not a number: "NaN"',
      'not a number: "abc"',
      'payload of 1048576 bytes exceeds the 64 KiB limit',
    ]);
    expect(sink.batches.length).toBe(before);

    await pub.publish(`${t}/doc`, JSON.stringify({ data: { counter: 2 } }));
    await pub.publish(`${t}/bare`, '3');
    await eventuallyPasses(() => {
      expect(sink.values('count')).toEqual([1, 2]);
      expect(sink.values('waste:W1')).toEqual([3]);
    });
    expect(sink.state).toBe('connected');
  });

  it('probes retained values, reports garbage and silent topics', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/doc`, JSON.stringify({ c: 42, s: 'STOP' }), true);
    await pub.publish(`${t}/bad`, 'abc', true);
    const device = mqttDevice({ url: broker.url }, [
      {
        code: 'M1',
        count: { topic: `${t}/doc`, path: 'c' },
        running: { topic: `${t}/doc`, path: 's' },
        downtimeType: 'Unplanned',
        waste: [{ code: 'W1', source: { topic: `${t}/bad` } }],
        parameters: [{ code: 'p', source: { topic: `${t}/silent` } }],
      },
    ]);
    const adapter = createMqttAdapter(device, adapterContext(new RecordingSink()), { probeWaitMs: 1500 });
    const rows = await adapter.probe();
    expect(rows).toEqual([
      { machine: 'M1', signal: 'count', source: `${t}/doc c`, raw: '{"c":42,"s":"STOP"}', value: 42, rollover: 2 ** 32 },
      { machine: 'M1', signal: 'waste:W1', source: `${t}/bad`, raw: 'abc', error: 'not a number: "abc"' },
      { machine: 'M1', signal: 'running', source: `${t}/doc s`, raw: '{"c":42,"s":"STOP"}', value: false },
      { machine: 'M1', signal: 'param:p', source: `${t}/silent`, error: 'no message within 1.5s' },
    ]);
  });

  it('probes an unreachable broker with an error per signal', async () => {
    const device = mqttDevice({ url: 'mqtt://127.0.0.1:1' }, [{ code: 'M1', count: { topic: 'x/y' } }]);
    const rows = await createMqttAdapter(device, adapterContext(new RecordingSink())).probe();
    expect(rows).toEqual([{ machine: 'M1', signal: 'count', source: 'x/y', error: expect.stringMatching(/^cannot connect: .*ECONNREFUSED/) }]);
  });

  it('reports a broker it cannot reach, without throwing, and stops cleanly', async () => {
    const sink = new RecordingSink();
    const log = recordingLogger();
    const adapter = createMqttAdapter(
      mqttDevice({ url: 'mqtt://127.0.0.1:1' }, [{ code: 'M1', count: { topic: 'x/y' } }]),
      adapterContext(sink, { logger: log.logger }),
      {
        backoff: fixedBackoff(100),
      },
    );
    await adapter.start();
    await eventuallyPasses(() => expect(sink.states.at(-1)).toEqual({ state: 'disconnected', error: expect.stringMatching(/ECONNREFUSED/) }));
    await adapter.stop();
    expect(sink.states.map((s) => s.state)).toEqual(['connecting', 'disconnected']);
    // Logged once, as the error itself: its code and where it came from, not just its text.
    expect(log.lines('mqtt.connection_error')).toEqual([
      expect.objectContaining({ err: expect.objectContaining({ code: 'ECONNREFUSED', stack: expect.stringContaining('Error') }) }),
    ]);
  });

  it('reports an unreadable CA file as a connection error', async () => {
    const sink = new RecordingSink();
    const device = mqttDevice({ url: 'mqtts://127.0.0.1:1', ca: '/nonexistent/ca.pem' }, [{ code: 'M1', count: { topic: 'x/y' } }]);
    const adapter = createMqttAdapter(device, adapterContext(sink));
    await adapter.start();
    expect(sink.states.at(-1)).toEqual({ state: 'disconnected', error: expect.stringMatching(/^cannot read CA file \/nonexistent\/ca.pem/) });
    const rows = await adapter.probe();
    expect(rows[0].error).toMatch(/cannot read CA file/);
    await adapter.stop();
  });
});
