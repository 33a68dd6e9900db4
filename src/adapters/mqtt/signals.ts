/** The device's signals as MQTT sees them: grouped by topic, decoded per message. */
import type { MqttSource } from '../../config/schema.js';
import { isCounter, listSignals, type Signal } from '../signals.js';
import { decodeSignal, parsePayload, type Decoded } from './payload.js';
import type { MqttDevice } from './options.js';

export type MqttSignal = Signal<MqttSource>;

/**
 * A JSON number carries no type, so an MQTT counter is taken to wrap where a PLC's 32-bit
 * counter does (docs/guard.md#terms); `counterRollover` says otherwise, e.g. 65536 for a
 * 16-bit one. A value at or above it is a bad value.
 */
const MQTT_COUNTER_ROLLOVER = 2 ** 32;

/** Reading.rollover of a signal: MQTT_COUNTER_ROLLOVER for count and waste. */
export function rolloverOf(signal: MqttSignal): number | undefined {
  return isCounter(signal.kind) ? MQTT_COUNTER_ROLLOVER : undefined;
}

/** Several signals may share a topic (different paths into one JSON document). */
export function signalsByTopic(device: MqttDevice): Map<string, MqttSignal[]> {
  const byTopic = new Map<string, MqttSignal[]>();
  for (const s of listSignals(device)) {
    const group = byTopic.get(s.source.topic) ?? [];
    group.push(s);
    byTopic.set(s.source.topic, group);
  }
  return byTopic;
}

/** Decodes one message for every signal of its topic, parsing the payload once. */
export function decodeMessage(buf: Buffer, group: MqttSignal[]): { signal: MqttSignal; decoded: Decoded }[] {
  const payload = parsePayload(buf);
  return group.map((signal) => ({
    signal,
    decoded: 'error' in payload ? { ok: false, error: payload.error } : decodeSignal(payload, signal.source, signal.kind),
  }));
}

/** How a technician reads the source in a probe table. */
export function describeSource(source: MqttSource): string {
  return source.path === undefined ? source.topic : `${source.topic} ${source.path}`;
}
