/**
 * The MQTT side of commissioning: a connection check (the broker answers, then accepts the
 * login) and a bounded listen under a topic prefix: each topic with its last payload, how
 * many messages came, and the JSON paths of the last payload. Clean sessions of their own
 * (clientOptions `probe`), so the gateway's session on the broker is never touched.
 */
import { connect, type MqttClient } from 'mqtt';
import type { Clock } from '../../core/clock.js';
import { sleep } from '../../core/clock.js';
import type { CheckStep, TopicResult } from '../../core/commission.js';
import type { ConnectionOf } from '../../config/schema.js';
import { clientOptions, safeUrl } from './options.js';
import { parsePayload, valuePaths } from './payload.js';

export type MqttConnection = ConnectionOf<'mqtt'>;

/** CONNACK codes of a refused login: 4/5 in MQTT 3.1.1, 0x86/0x87 in MQTT 5. */
const LOGIN_REFUSED = new Set([4, 5, 134, 135]);
const CHECK_TIMEOUT_MS = 10_000;
/** Longest listen and most topics kept: a listen is a look, not a recorder. */
const LISTEN_LIMITS = { maxSeconds: 120, maxTopics: 500, payloadChars: 1024 } as const;

/** Connects once, without retries: the client once connected, or why not. */
function connectOnce(d: MqttConnection, timeoutMs: number): Promise<{ client: MqttClient } | { error: Error & { code?: unknown } }> {
  return new Promise((resolve) => {
    let client: MqttClient;
    try {
      client = connect(d.connection.url, clientOptions(d, 'probe', { reconnectPeriod: 0, connectTimeout: timeoutMs }));
    } catch (err) {
      resolve({ error: err as Error });
      return;
    }
    let error: Error | undefined;
    client.on('error', (err) => {
      error = err;
    });
    client.once('connect', () => resolve({ client }));
    client.once('close', () => {
      client.end(true);
      resolve({ error: error ?? new Error('the broker closed the connection without an answer') });
    });
  });
}

/** mqtt.connect (the broker answers) and mqtt.login (it accepts the user or anonymous). */
export async function checkMqtt(d: MqttConnection): Promise<CheckStep[]> {
  const url = safeUrl(d.connection.url);
  const got = await connectOnce(d, CHECK_TIMEOUT_MS);
  if ('client' in got) {
    await got.client.endAsync(true);
    return [
      { step: 'mqtt.connect', ok: true, detail: `${url} answered` },
      { step: 'mqtt.login', ok: true, detail: d.connection.username === undefined ? 'anonymous login accepted' : `logged in as ${d.connection.username}` },
    ];
  }
  const { error } = got;
  if (typeof error.code === 'number' && LOGIN_REFUSED.has(error.code)) {
    const who =
      d.connection.username === undefined
        ? 'the broker does not accept anonymous clients: set connection.username and password'
        : `the broker refused user "${d.connection.username}": check username and password`;
    return [
      { step: 'mqtt.connect', ok: true, detail: `${url} answered` },
      { step: 'mqtt.login', ok: false, code: 'SFG_MQTT_LOGIN_REFUSED', detail: `${who} (${error.message})` },
    ];
  }
  const code = typeof error.code === 'string' ? error.code : typeof error.code === 'number' ? `MQTT_${error.code}` : 'SFG_MQTT_UNREACHABLE';
  return [{ step: 'mqtt.connect', ok: false, code, detail: `cannot connect to ${url}: ${error.message}` }];
}

/** The subscription for a prefix: everything below it, and the prefix itself. */
function filters(prefix: string): string[] {
  const p = prefix.replace(/\/+$/, '');
  return p === '' ? ['#'] : [p, `${p}/#`];
}

/**
 * Subscribes under `prefix` for `seconds` (at most LISTEN_LIMITS.maxSeconds), or until
 * `signal` aborts; `results` holds one entry per topic, updated in place as messages come.
 */
export async function listenTopics(
  d: MqttConnection,
  o: { prefix: string; seconds: number; clock: Clock; signal: AbortSignal },
  results: TopicResult[],
  progress: (doneMs: number, totalMs: number) => void,
): Promise<void> {
  const totalMs = Math.min(o.seconds, LISTEN_LIMITS.maxSeconds) * 1000;
  const got = await connectOnce(d, CHECK_TIMEOUT_MS);
  if ('error' in got) throw Object.assign(new Error(`cannot connect to ${safeUrl(d.connection.url)}: ${got.error.message}`), { code: 'SFG_MQTT_UNREACHABLE' });
  const { client } = got;
  const byTopic = new Map<string, TopicResult>();
  client.on('message', (topic, buf) => {
    let entry = byTopic.get(topic);
    if (!entry) {
      if (byTopic.size >= LISTEN_LIMITS.maxTopics) return;
      entry = { topic, lastPayload: '', count: 0, paths: [] };
      byTopic.set(topic, entry);
      results.push(entry);
    }
    entry.count++;
    const payload = parsePayload(buf);
    entry.lastPayload = buf
      .subarray(0, LISTEN_LIMITS.payloadChars * 4)
      .toString('utf8')
      .slice(0, LISTEN_LIMITS.payloadChars);
    entry.paths = 'error' in payload ? [] : valuePaths(payload).map((p) => ({ path: p.path ?? '', value: p.value }));
  });
  try {
    await client.subscribeAsync(filters(o.prefix), { qos: 0 });
    const began = o.clock.now();
    // Progress once a second; the listen ends at totalMs or on abort.
    for (let left = totalMs; left > 0 && !o.signal.aborted; left = totalMs - (o.clock.now() - began)) {
      await sleep(o.clock, Math.min(1000, left), o.signal);
      progress(Math.min(totalMs, o.clock.now() - began), totalMs);
    }
  } finally {
    await client.endAsync(true);
  }
}
