/**
 * Commissioning's MQTT tools against a real mosquitto: listening under a topic prefix for
 * a few seconds gives each topic with its last payload, its count and the JSON paths to
 * pick; the connection check tells a refused login from a broker that is not there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopicResult } from '../../src/core/commission.js';
import { freePort } from '../../src/sim/free-port.js';
import { commissionTools, finished } from '../helpers/commission-tools.js';
import { publisher, topicPrefix } from '../helpers/mosquitto-harness.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { ownedTempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const dir = ownedTempDir('commission-mqtt-');
let broker: Mosquitto;

beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.cleanup();
  dir.remove();
});

const device = (url: string, connection: Record<string, unknown> = {}) => ({ device: 'sensors', protocol: 'mqtt', connection: { url, ...connection } });

describe('mqtt.listen', () => {
  it('lists the topics under the prefix with their last payload, count and JSON paths, for the seconds asked', async () => {
    const prefix = topicPrefix();
    const pub = await publisher(broker.url);
    try {
      await pub.publish(`${prefix}/line1/state`, JSON.stringify({ data: { counter: 41, running: true }, values: [1.5, 2] }), true);
      await pub.publish(`${prefix}/line1/temp`, '21.5', true);
      await pub.publish('elsewhere/topic', 'not under the prefix', true);
      const { tools } = commissionTools(`${dir.path}/state`);
      const job = tools.startJob('mqtt.listen', { device: device(broker.url), prefix, seconds: 3 });
      // Retained values arrive at once; then one live message more on the state topic.
      await eventually(
        () => job.results.length,
        (n) => n === 2,
        10_000,
        'the retained topics',
      );
      await pub.publish(`${prefix}/line1/state`, JSON.stringify({ data: { counter: 42, running: false }, values: [1.5, 2] }));
      await finished(job, 20_000);
      expect(job.state).toBe('done');
      expect(job.progress).toEqual({ done: 3000, total: 3000 });
      const byTopic = new Map((job.results as TopicResult[]).map((t) => [t.topic, t]));
      expect([...byTopic.keys()].sort()).toEqual([`${prefix}/line1/state`, `${prefix}/line1/temp`]);
      expect(byTopic.get(`${prefix}/line1/state`)).toEqual({
        topic: `${prefix}/line1/state`,
        lastPayload: '{"data":{"counter":42,"running":false},"values":[1.5,2]}',
        count: 2,
        paths: [
          { path: 'data.counter', value: 42 },
          { path: 'data.running', value: false },
          { path: 'values.0', value: 1.5 },
          { path: 'values.1', value: 2 },
        ],
      });
      // A bare value has no path: the source is the topic alone.
      expect(byTopic.get(`${prefix}/line1/temp`)).toMatchObject({ count: 1, lastPayload: '21.5', paths: [{ path: '', value: 21.5 }] });
    } finally {
      await pub.close();
    }
  });

  it('ends at once when aborted', async () => {
    const { tools } = commissionTools(`${dir.path}/state`);
    const job = tools.startJob('mqtt.listen', { device: device(broker.url), prefix: topicPrefix(), seconds: 120 });
    await eventually(
      () => job.progress.total,
      (t) => t === 120_000 || job.state !== 'running',
      10_000,
      'the listen to start',
    );
    job.abort();
    await finished(job, 10_000);
    expect(job.state).toBe('aborted');
  });
});

describe('MQTT connection check', () => {
  it('tells a broker that is not there from one that refuses the login', async () => {
    const { tools } = commissionTools(`${dir.path}/state`);
    expect(await tools.check(device(broker.url))).toEqual([
      { step: 'mqtt.connect', ok: true, detail: `${broker.url} answered` },
      { step: 'mqtt.login', ok: true, detail: 'anonymous login accepted' },
    ]);
    const closed = await tools.check(device(`mqtt://127.0.0.1:${await freePort()}`));
    expect(closed).toEqual([
      { step: 'mqtt.connect', ok: false, code: 'ECONNREFUSED', detail: expect.stringMatching(/^cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/) },
    ]);
  });

  it('says which login was refused, without the password', async () => {
    const locked = await startMosquitto({ users: { gateway: 's3cret-pass' } });
    try {
      const { tools } = commissionTools(`${dir.path}/state`);
      const steps = await tools.check(device(locked.url, { username: 'gateway', password: 'wrong-pass', protocolVersion: 4 }));
      expect(steps).toEqual([
        { step: 'mqtt.connect', ok: true, detail: `${locked.url} answered` },
        { step: 'mqtt.login', ok: false, code: 'SFG_MQTT_LOGIN_REFUSED', detail: expect.stringMatching(/refused user "gateway": check username and password/) },
      ]);
      expect(JSON.stringify(steps)).not.toMatch(/wrong-pass|s3cret/);
      const anonymous = await tools.check(device(locked.url));
      expect(anonymous[1]).toMatchObject({ ok: false, code: 'SFG_MQTT_LOGIN_REFUSED', detail: expect.stringMatching(/does not accept anonymous/) });
    } finally {
      await locked.cleanup();
    }
  });
});
