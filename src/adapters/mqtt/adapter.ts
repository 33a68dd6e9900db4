/**
 * MQTT device: one client per device, QoS 1 subscriptions to every distinct signal topic.
 *
 * The gateway's session is persistent (MQTT 5, clean start off, a session expiry; see
 * options.ts): while the gateway is disconnected or restarting, the broker keeps its
 * subscriptions and queues QoS 1 messages, and hands them over in order on reconnect.
 * They arrive through the same `message` handler, so the same payload checks apply.
 * A message is acknowledged (PUBACK) only after the sink took it; one that arrives while
 * the adapter stops is not acknowledged, so the broker delivers it again next time.
 *
 * We subscribe on every connect anyway (a broker restart without persistence loses the
 * session; a changed config brings new topics), with Retain Handling 1: retained values
 * are sent only for a subscription the session did not have yet. So a fresh session reads
 * the current state from retained values, and a resumed one does not get an older
 * retained value replayed after the newer queued messages.
 */
import { connect, type MqttClient } from 'mqtt';
import { Backoff, BACKOFF, type BackoffPolicy } from '../../core/backoff.js';
import type { AdapterContext, AdapterFactory, ConnectionState, DeviceAdapter } from '../types.js';
import type { Reading } from '../../core/values.js';
import { clientOptions, safeUrl, type MqttDevice } from './options.js';
import { probeMqtt } from './probe.js';
import { decodeMessage, rolloverOf, signalsByTopic } from './signals.js';

export interface MqttAdapterOptions {
  /** Reconnect delays; default BACKOFF.mqtt. */
  backoff?: BackoffPolicy;
  /** How long probe() waits for a message on each topic. */
  probeWaitMs?: number;
}

export function createMqttAdapter(device: MqttDevice, ctx: AdapterContext, options: MqttAdapterOptions = {}): DeviceAdapter {
  const { sink, clock } = ctx;
  const log = ctx.logger.child({ url: safeUrl(device.connection.url) });
  const byTopic = signalsByTopic(device);
  const topics = [...byTopic.keys()];
  const backoff = new Backoff(options.backoff ?? BACKOFF.mqtt, ctx.random);
  let client: MqttClient | undefined;
  /** The pending reconnect; mqtt.js's own (a fixed period) is off. */
  let retry: unknown;
  let stopped = false;
  let state: ConnectionState | undefined;
  let reported: string | undefined;
  let lastError: string | undefined;

  /** Reports changes only: a dead broker must not flood the status with each retry. */
  function report(next: ConnectionState, error?: string): void {
    if (stopped || (next === state && error === reported)) return;
    state = next;
    reported = error;
    sink.connection(next, error);
  }

  /** `redelivered`: the broker's DUP flag, a message it may have given us before (QoS 1). */
  function onMessage(topic: string, buf: Buffer, redelivered: boolean): void {
    const group = byTopic.get(topic);
    if (stopped || group === undefined) return;
    const at = clock.now();
    const batch: Reading[] = [];
    for (const { signal: s, decoded: d } of decodeMessage(buf, group)) {
      if (!d.ok) {
        sink.signalError(s.machine, s.key, d.error, at);
        continue;
      }
      const rollover = rolloverOf(s);
      batch.push({
        machine: s.machine,
        signal: s.key,
        value: d.value,
        raw: d.raw,
        at,
        ...(redelivered && { redelivered }),
        ...(rollover !== undefined && { rollover }),
      });
    }
    if (batch.length > 0) sink.readings(batch);
  }

  function subscribe(c: MqttClient): void {
    c.subscribe(topics, { qos: 1, rh: 1 }, (err, granted) => {
      // A connection lost before the SUBACK is retried on the next connect.
      if (err) {
        if (!stopped) log.warn({ event: 'mqtt.subscribe_failed', err }, 'subscribe failed');
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos < 128) continue;
        for (const s of byTopic.get(g.topic) ?? []) {
          sink.signalError(s.machine, s.key, `broker refused the subscription to ${g.topic} (not authorised?)`, clock.now());
        }
      }
    });
  }

  return {
    async start() {
      if (client || stopped) return;
      report('connecting');
      let opts: ReturnType<typeof clientOptions>;
      try {
        opts = clientOptions(device, 'gateway', { reconnectPeriod: 0 });
      } catch (e) {
        log.error({ event: 'device.start_failed', err: e }, 'mqtt device not started');
        return report('disconnected', (e as Error).message);
      }
      const c = connect(device.connection.url, opts);
      client = c;
      // Called after the 'message' handler, before the PUBACK: a message seen only while
      // stopping stays unacknowledged, and the broker keeps it for the next session.
      c.handleMessage = (_packet, callback) => {
        if (!stopped) callback();
      };
      let connectedBefore = false;
      c.on('connect', (connack) => {
        lastError = undefined;
        backoff.reset();
        const sessionPresent = connack.sessionPresent;
        if (connectedBefore && !sessionPresent) {
          // E.g. a broker restarted without persistence: what was published meanwhile is gone.
          log.warn(
            { event: 'mqtt.session_lost', clientId: opts.clientId },
            'mqtt connected; the broker had lost our session, only retained values are read again',
          );
        } else {
          log.info({ clientId: opts.clientId, sessionPresent }, 'mqtt connected');
        }
        connectedBefore = true;
        report('connected');
        subscribe(c);
      });
      c.on('message', (topic, buf, packet) => {
        try {
          onMessage(topic, buf, packet.dup);
        } catch (e) {
          // The sink must not throw; if it does, losing one message beats killing the client.
          log.error({ err: e, topic }, 'mqtt message handling failed');
        }
      });
      c.on('error', (err) => {
        if (err.message !== lastError) log.warn({ event: 'mqtt.connection_error', err }, 'mqtt connection error');
        lastError = err.message;
      });
      // Every lost or failed connection, a refused CONNACK too (a restarting broker may refuse
      // for a moment), ends in 'close': one retry is scheduled per loss.
      c.on('close', () => {
        report('disconnected', lastError ?? 'connection closed');
        if (stopped || retry !== undefined) return;
        retry = clock.setTimeout(() => {
          retry = undefined;
          if (!stopped) c.reconnect();
        }, backoff.next());
      });
    },

    async stop() {
      stopped = true;
      if (retry !== undefined) clock.clearTimeout(retry);
      retry = undefined;
      const c = client;
      client = undefined;
      // Forced: nothing of ours is in flight (we only subscribe), and a dead broker must not hold us.
      if (c) await c.endAsync(true);
    },

    probe() {
      return probeMqtt(device, clock, options.probeWaitMs ?? 5000);
    },
  };
}

createMqttAdapter satisfies AdapterFactory<MqttDevice>;
