import { afterEach, describe, expect, it } from 'vitest';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { mqttDevice, publisher, topicPrefix, type Publisher } from '../helpers/mosquitto-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventuallyPasses } from '../helpers/wait.js';
import { fixedBackoff } from '../helpers/backoff.js';
import { ManualClock } from '../helpers/clocks.js';
import { BACKOFF } from '../../src/core/backoff.js';
import { eventually } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ broker: Mosquitto; pub: Publisher; sink: RecordingSink; adapter: DeviceAdapter; t: string }> {
  const broker = await startMosquitto();
  cleanups.push(() => broker.cleanup());
  const pub = await publisher(broker.url);
  cleanups.push(() => pub.close());
  const t = topicPrefix();
  const sink = new RecordingSink();
  const device = mqttDevice({ url: broker.url }, [{ code: 'M1', count: { topic: `${t}/count`, path: 'n' } }]);
  const adapter = createMqttAdapter(device, adapterContext(sink), { backoff: fixedBackoff(200) });
  cleanups.push(() => adapter.stop());
  return { broker, pub, sink, adapter, t };
}

describe('mqtt adapter and a broker that goes away', () => {
  it('reconnects after a broker restart, resubscribes and keeps receiving', async () => {
    const { broker, pub, sink, adapter, t } = await setup();
    await pub.publish(`${t}/count`, '{"n":1}', true);
    await adapter.start();
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([1]));

    await broker.stop();
    await eventuallyPasses(() => expect(sink.state).toBe('disconnected'));
    await broker.restart();
    await eventuallyPasses(() => expect(sink.state).toBe('connected'));

    // The restarted broker has no retained state; a retained publish reaches the adapter
    // whether it arrives before or after the adapter's resubscription.
    await pub.publish(`${t}/count`, '{"n":2}', true);
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([1, 2]));
    expect(sink.stateChanges()).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
    expect(sink.errors).toEqual([]);
  });

  it('starts while the broker is down and connects once it is up', async () => {
    const { broker, pub, sink, adapter, t } = await setup();
    await broker.stop();
    await adapter.start();
    await eventuallyPasses(() => expect(sink.state).toBe('disconnected'));
    expect(sink.states.at(-1)?.error).toMatch(/ECONNREFUSED/);

    await broker.restart();
    await eventuallyPasses(() => expect(sink.state).toBe('connected'));
    await pub.publish(`${t}/count`, '{"n":7}', true);
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([7]));
  });

  it('retries with the MQTT backoff while the broker is away, and from the first delay again after a good spell', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.cleanup());
    await broker.stop();
    const clock = new ManualClock();
    const sink = new RecordingSink();
    const device = mqttDevice({ url: broker.url }, [{ code: 'M1', count: { topic: `${topicPrefix()}/count` } }]);
    // Jitter 0.2 with the random source at 0.5: each delay is 90 % of its ceiling.
    const adapter = createMqttAdapter(device, adapterContext(sink, { clock, random: () => 0.5 }));
    cleanups.push(() => adapter.stop());
    const nextRetry = async () => {
      const [delay] = await eventually(
        () => clock.pending(),
        (p) => p.length === 1,
        20_000,
        'the next retry to be scheduled',
      );
      return delay;
    };

    await adapter.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(await nextRetry());
      clock.advance(delays[i]);
    }
    const { firstMs, maxMs } = BACKOFF.mqtt;
    expect(delays).toEqual([firstMs, firstMs * 2, firstMs * 4, firstMs * 8, maxMs, maxMs].map((c) => Math.min(c, maxMs) * 0.9));

    await broker.restart();
    clock.advance(await nextRetry());
    await eventuallyPasses(() => expect(sink.state).toBe('connected'));
    expect(clock.pending()).toEqual([]);
    await broker.stop();
    await eventuallyPasses(() => expect(sink.state).toBe('disconnected'));
    expect(await nextRetry()).toBe(firstMs * 0.9);
    await adapter.stop();
    expect(clock.pending()).toEqual([]);
  });

  it('stops promptly while the broker is down', async () => {
    const { broker, sink, adapter } = await setup();
    await adapter.start();
    await eventuallyPasses(() => expect(sink.state).toBe('connected'));
    await broker.stop();
    await eventuallyPasses(() => expect(sink.state).toBe('disconnected'));
    // Resolving at all is the point: a forced end does not wait for a broker that is gone.
    await adapter.stop();
    expect(sink.states.at(-1)?.state).toBe('disconnected');
  });
});
