/**
 * `probe` for an MQTT device: a short-lived client of its own subscribes to every signal
 * topic and takes the first message of each (a retained one arrives at once), then decodes
 * it like the adapter does. Signals silent for the whole wait are reported as such.
 */
import { connect } from 'mqtt';
import type { Clock } from '../../core/clock.js';
import { listSignals } from '../signals.js';
import type { ProbeRow } from '../types.js';
import { clientOptions, type MqttDevice } from './options.js';
import { excerpt } from './payload.js';
import { decodeMessage, describeSource, rolloverOf, signalsByTopic } from './signals.js';

export async function probeMqtt(device: MqttDevice, clock: Clock, waitMs: number): Promise<ProbeRow[]> {
  const byTopic = signalsByTopic(device);
  const first = new Map<string, Buffer>();
  const refused = new Set<string>();
  let failure: string | undefined;
  let connected = false;
  try {
    const client = connect(device.connection.url, clientOptions(device, 'probe', { reconnectPeriod: 0, connectTimeout: waitMs }));
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(resolve, waitMs);
      const done = () => {
        clock.clearTimeout(timer);
        resolve();
      };
      const settled = () => first.size + refused.size === byTopic.size;
      client.on('connect', () => {
        connected = true;
        client.subscribe([...byTopic.keys()], { qos: 1 }, (err, granted) => {
          if (err) failure = `subscribe failed: ${err.message}`;
          for (const g of granted ?? []) if (g.qos >= 128) refused.add(g.topic);
          if (err || settled()) done();
        });
      });
      client.on('message', (topic, buf) => {
        if (!byTopic.has(topic) || first.has(topic)) return;
        first.set(topic, buf);
        if (settled()) done();
      });
      client.on('error', (err) => {
        failure = err.message;
      });
      // Without reconnects, a close means this probe is over (refused, TLS or auth failure).
      client.on('close', done);
    });
    await client.endAsync(true);
  } catch (e) {
    failure = (e as Error).message;
  }

  return listSignals(device).map((s) => {
    const row: ProbeRow = { machine: s.machine, signal: s.key, source: describeSource(s.source) };
    const buf = first.get(s.source.topic);
    if (buf !== undefined) {
      row.raw = excerpt(buf.subarray(0, 256).toString('utf8'), 80);
      const [{ decoded }] = decodeMessage(buf, [s]);
      if (decoded.ok) {
        row.value = decoded.value;
        const rollover = rolloverOf(s);
        if (rollover !== undefined) row.rollover = rollover;
      } else row.error = decoded.error;
    } else if (!connected) row.error = `cannot connect: ${failure ?? 'no answer from the broker'}`;
    else if (refused.has(s.source.topic)) row.error = `broker refused the subscription to ${s.source.topic} (not authorised?)`;
    else row.error = failure ?? `no message within ${waitMs / 1000}s`;
    return row;
  });
}
