import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { hasMosquittoPasswd, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { makeCa, makeTestPki, type TestPki } from '../helpers/mosquitto-tls.js';
import { mqttDevice, publisher, topicPrefix, type Publisher } from '../helpers/mosquitto-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { ownedTempDir } from '../helpers/tmp.js';
import { eventuallyPasses } from '../helpers/wait.js';
import { fixedBackoff } from '../helpers/backoff.js';

// Broker users need mosquitto_passwd; without it the same tests run anonymously.
const auth = hasMosquittoPasswd();
const credentials = auth ? { username: 'gateway', password: 'pw with spaces & symbols' } : {};

let dir: ReturnType<typeof ownedTempDir>;
let pki: TestPki;
let broker: Mosquitto;
let pub: Publisher;
const adapters: DeviceAdapter[] = [];

beforeAll(async () => {
  dir = ownedTempDir('mqtt-tls-test-');
  pki = makeTestPki(dir.path);
  broker = await startMosquitto({ tls: pki, websockets: true, users: auth ? { gateway: credentials.password! } : undefined });
  pub = await publisher(broker.url, credentials);
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await pub?.close();
  await broker?.cleanup();
  dir.remove();
});

function adapterFor(connection: Record<string, unknown>, topic: string) {
  const sink = new RecordingSink();
  const adapter = createMqttAdapter(mqttDevice(connection, [{ code: 'M1', count: { topic, path: 'c' } }]), adapterContext(sink), {
    backoff: fixedBackoff(200),
  });
  adapters.push(adapter);
  return { sink, adapter };
}

describe('mqtt adapter over TLS and websockets', () => {
  it('reads over mqtts:// with the CA of the broker certificate', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/c`, '{"c":11}', true);
    const { sink, adapter } = adapterFor({ url: broker.tlsUrl, ca: pki.cafile, ...credentials }, `${t}/c`);
    await adapter.start();
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([11]));
    await pub.publish(`${t}/c`, '{"c":12}');
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([11, 12]));
    expect(await adapter.probe()).toEqual([{ machine: 'M1', signal: 'count', source: `${t}/c c`, raw: '{"c":11}', value: 11, rollover: 2 ** 32 }]);
  });

  it('refuses a broker whose certificate another CA signed', async () => {
    const other = makeCa(dir.path, 'other-ca');
    const { sink, adapter } = adapterFor({ url: broker.tlsUrl, ca: other.cafile, ...credentials }, 'x/y');
    await adapter.start();
    await eventuallyPasses(() => expect(sink.states.at(-1)?.error).toMatch(/certificate/i));
    expect(sink.state).toBe('disconnected');
    expect(sink.states.some((s) => s.state === 'connected')).toBe(false);
    expect((await adapter.probe())[0].error).toMatch(/^cannot connect: .*certificate/i);
  });

  it('refuses anonymous clients and wrong passwords when the broker has users', async () => {
    const bad = auth ? { username: 'gateway', password: 'wrong' } : {};
    const { sink, adapter } = adapterFor({ url: broker.tlsUrl, ca: pki.cafile, ...bad }, 'x/y');
    await adapter.start();
    if (auth) {
      await eventuallyPasses(() =>
        expect(sink.states.at(-1)).toEqual({ state: 'disconnected', error: expect.stringMatching(/Not authorized|Bad User Name or Password/i) }),
      );
      expect(sink.states.some((s) => s.state === 'connected')).toBe(false);
    } else {
      await eventuallyPasses(() => expect(sink.state).toBe('connected'));
    }
  });

  it('reads over ws://', async () => {
    const t = topicPrefix();
    await pub.publish(`${t}/c`, '{"c":5}', true);
    const { sink, adapter } = adapterFor({ url: broker.wsUrl, ...credentials }, `${t}/c`);
    await adapter.start();
    await eventuallyPasses(() => expect(sink.values('count')).toEqual([5]));
  });
});
