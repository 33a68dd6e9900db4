/**
 * A mosquitto broker restarted mid-run, end to end: a sensor publishes its cumulative count
 * and scrap as JSON (QoS 1), the gateway process subscribes and delivers to the MES
 * sandbox. The sensor keeps counting while the broker is down (its client queues what it
 * publishes meanwhile). Afterwards the MES must hold exactly what the sensor counted since
 * the gateway first saw it, reached by strictly rising counts, none refused, with or
 * without broker persistence (without it the gateway's session and the retained values
 * are gone and only new publishes tell the totals).
 */
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startGateway } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { publisher, topicPrefix } from '../helpers/mosquitto-harness.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const M = 'PACK01';
const WASTE = 'Waste1';

describe('MQTT broker restart: the MES ends with exactly what the sensor counted', () => {
  const dir = tempDir('sfg-broker-restart-');
  const defer = deferCleanup();

  for (const persistence of [false, true]) {
    it(`broker restarted ${persistence ? 'with' : 'without'} persistence while the sensor counts on`, async () => {
      const broker = await startMosquitto({ persistence });
      defer(() => broker.cleanup());
      const sensor = await publisher(broker.url);
      defer(() => sensor.close());
      const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { [M]: { waste: [WASTE] } } });
      defer(() => mes.close());
      const topic = `${topicPrefix()}/state`;
      let counter = 4000;
      let scrap = 20;
      let made = 0;
      let scrapped = 0;
      const publish = () => sensor.publish(topic, JSON.stringify({ counter, scrap }), true);
      const produce = async (steps: number) => {
        for (let i = 0; i < steps; i++) {
          counter += 2;
          made += 2;
          if (i % 3 === 0) {
            scrap += 1;
            scrapped += 1;
          }
          await publish();
        }
      };
      await publish();

      const cfg = writeConfig(dir, {
        mesUrl: mes.url,
        devices: {
          sensors: `device: sensors
protocol: mqtt
connection: { url: "${broker.url}" }
machines:
  - code: ${M}
    initialCount: zero
    count: { topic: ${topic}, path: counter }
    waste:
      - code: ${WASTE}
        source: { topic: ${topic}, path: scrap }
`,
        },
      });
      const gw = startGateway(cfg.gatewayFile);
      defer(() => gw.kill('SIGKILL'));
      for (const signal of ['count', `waste:${WASTE}`]) await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.signal === signal);
      await produce(10);
      await eventually(
        () => mes.state[M].count,
        (c) => c === made,
        20_000,
        'counts before the restart',
      );

      await broker.stop();
      await gw.waitForLog((l) => l.event === 'device.disconnected');
      // Published into the sensor's offline queue: sent when it reconnects.
      const queued = produce(5);
      await broker.restart();
      await queued;
      await gw.waitForLog((l) => l.event === 'device.connected' && gw.logs.indexOf(l) > gw.logs.findIndex((d) => d.event === 'device.disconnected'));
      await produce(10);

      const final = await eventually(
        () => ({ count: mes.state[M].count, waste: mes.state[M].waste[WASTE] }),
        (s) => (s.count ?? 0) >= made && (s.waste ?? 0) >= scrapped,
        20_000,
        `MES count ${made} and waste ${scrapped}`,
      );
      expect(final).toEqual({ count: made, waste: scrapped });
      const counts = mes.state[M].counterLog.map((c) => c.count).filter((c): c is number => c !== undefined);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
      expect(mes.requests.filter((r) => r.status !== 200)).toEqual([]);
    });
  }
});
