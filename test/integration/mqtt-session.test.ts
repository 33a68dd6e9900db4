/**
 * The gateway's persistent MQTT session against a real mosquitto: QoS 1 messages published
 * while the gateway is away (stopped, restarting, cut off) are queued by the broker and
 * arrive in order when it is back, through the same payload checks. No timing: every wait
 * is a bounded poll for an outcome.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { startMqttSensorSim } from '../../src/sim/mqtt-sensor.js';
import { startMosquitto, type Mosquitto, type MosquittoOptions } from '../helpers/mosquitto.js';
import { mqttDevice, publisher, topicPrefix, type Publisher } from '../helpers/mosquitto-harness.js';
import { startSilentLink } from '../helpers/tcp-link.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventuallyPasses } from '../helpers/wait.js';
import { fixedBackoff } from '../helpers/backoff.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(options: MosquittoOptions = {}): Promise<{ broker: Mosquitto; pub: Publisher }> {
  const b = await startMosquitto(options);
  cleanups.push(() => b.cleanup());
  const pub = await publisher(b.url);
  cleanups.push(() => pub.close());
  return { broker: b, pub };
}

/** count (JSON path) and running (bare ON/OFF) on topics of their own. */
function device(url: string, t: string) {
  return mqttDevice({ url }, [{ code: 'M1', count: { topic: `${t}/count`, path: 'n' }, running: { topic: `${t}/state` }, downtimeType: 'Unplanned' }]);
}

async function started(dev: ReturnType<typeof device>): Promise<{ sink: RecordingSink; adapter: DeviceAdapter }> {
  const sink = new RecordingSink();
  const adapter = createMqttAdapter(dev, adapterContext(sink), { backoff: fixedBackoff(200), probeWaitMs: 5000 });
  cleanups.push(() => adapter.stop());
  await adapter.start();
  await eventuallyPasses(() => expect(sink.state).toBe('connected'));
  return { sink, adapter };
}

/** Retained first values; seeing them proves the subscriptions are in place. */
async function firstRun(pub: Publisher, dev: ReturnType<typeof device>, t: string) {
  await pub.publish(`${t}/count`, '{"n":1}', true);
  await pub.publish(`${t}/state`, 'ON', true);
  const first = await started(dev);
  await eventuallyPasses(() => {
    expect(first.sink.values('count')).toEqual([1]);
    expect(first.sink.values('running')).toEqual([true]);
  });
  return first;
}

const signals = (sink: RecordingSink) => sink.batches.flat().map((r) => [r.signal, r.value]);
/** Without repeats in a row: QoS 1 is at least once, so a message whose PUBACK was cut off comes again. */
const changes = <T>(values: T[]) => values.filter((v, i) => i === 0 || v !== values[i - 1]);

describe('mqtt persistent session', () => {
  it('hands a restarted gateway the QoS 1 messages published while it was away, in order, through the payload checks', async () => {
    const { broker: b, pub } = await broker();
    const t = topicPrefix();
    const dev = device(b.url, t);
    const first = await firstRun(pub, dev, t);
    await first.adapter.stop();

    // Not retained: without the session these would be lost.
    await pub.publish(`${t}/state`, 'OFF');
    await pub.publish(`${t}/count`, '{"n":2}');
    await pub.publish(`${t}/count`, '{"n":"abc"}');
    await pub.publish(`${t}/count`, '{"n":3}');

    const second = await started(dev);
    await pub.publish(`${t}/count`, '{"n":4}');
    // Exactly these: in particular no older retained value (count 1, ON) replayed after them.
    await eventuallyPasses(() =>
      expect(signals(second.sink)).toEqual([
        ['running', false],
        ['count', 2],
        ['count', 3],
        ['count', 4],
      ]),
    );
    expect(second.sink.errorsOf('count')).toEqual(['not a number: "abc"']);
    expect(first.sink.values('count')).toEqual([1]);
  });

  it('gets what was published while its connection was cut, on the same client', async () => {
    const { broker: b, pub } = await broker();
    const link = await startSilentLink(Number(new URL(b.url).port));
    cleanups.push(() => link.close());
    const t = topicPrefix();
    const { sink } = await firstRun(pub, device(`mqtt://127.0.0.1:${link.port}`, t), t);

    // Like a pulled cable: the broker sends into a connection that no longer delivers.
    link.silence();
    await pub.publish(`${t}/state`, 'OFF');
    await pub.publish(`${t}/count`, '{"n":2}');
    await pub.publish(`${t}/count`, '{"n":3}');
    link.restore();

    await eventuallyPasses(() => {
      expect(changes(sink.values('running'))).toEqual([true, false]);
      expect(changes(sink.values('count'))).toEqual([1, 2, 3]);
    });
    expect(changes(sink.states.map((s) => s.state))).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
    expect(sink.errors).toEqual([]);
  });

  it('keeps the session across a broker restart when the broker persists sessions', async () => {
    const { broker: b, pub } = await broker({ persistence: true });
    const t = topicPrefix();
    const dev = device(b.url, t);
    const first = await firstRun(pub, dev, t);
    await first.adapter.stop();
    await b.restart();

    await pub.publish(`${t}/state`, 'OFF');
    await pub.publish(`${t}/count`, '{"n":2}');
    const second = await started(dev);
    await eventuallyPasses(() =>
      expect(signals(second.sink)).toEqual([
        ['running', false],
        ['count', 2],
      ]),
    );
  });

  it('starts over from retained values when a broker without persistence restarted', async () => {
    const { broker: b, pub } = await broker();
    const t = topicPrefix();
    const dev = device(b.url, t);
    const first = await firstRun(pub, dev, t);
    await first.adapter.stop();
    await b.restart();

    // The session is gone, so this is not queued; the retained value after it is read at subscribe.
    await pub.publish(`${t}/count`, '{"n":2}');
    await pub.publish(`${t}/state`, 'OFF', true);
    const second = await started(dev);
    await eventuallyPasses(() => expect(signals(second.sink)).toEqual([['running', false]]));
    await pub.publish(`${t}/count`, '{"n":5}');
    await eventuallyPasses(() =>
      expect(signals(second.sink)).toEqual([
        ['running', false],
        ['count', 5],
      ]),
    );
  });

  it('is not taken over by a probe or the simulator of the same device', async () => {
    const { broker: b, pub } = await broker();
    const t = topicPrefix();
    const dev = device(b.url, t);
    const sim = startMqttSensorSim({ device: dev });
    cleanups.push(() => sim.close());
    await sim.tick();
    const { sink, adapter } = await started(dev);
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([2]));

    const rows = await adapter.probe();
    expect(rows.map((r) => r.value)).toEqual([2, true]);
    await sim.tick();
    await pub.publish(`${t}/count`, '{"n":9}');
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([2, 5, 9]));
    // A client with the gateway's id would have kicked it off the broker.
    expect(sink.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
  });
});
