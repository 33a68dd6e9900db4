/**
 * A simulated MQTT sensor for demos and tests: publishes, for each machine of an mqtt
 * device config, a rising counter, waste, run/stop, a stop reason and wavy parameters to
 * the topics the config reads. Signals that share a topic get one JSON document with a
 * value at each `path`; a signal without `path` gets a bare value. Publishes are retained
 * so `probe` sees values at once. Deterministic: the same ticks give the same values.
 */
import { connect } from 'mqtt';
import { systemClock, type Clock } from '../core/clock.js';
import type { MqttSource } from '../config/schema.js';
import { clientOptions, type MqttDevice } from '../adapters/mqtt/options.js';
import { signalsByTopic, type MqttSignal } from '../adapters/mqtt/signals.js';

export interface MqttSensorSim {
  /** Advances one step and publishes every topic; resolves when the broker has them. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

interface MachineState {
  step: number;
  count: number;
  waste: number;
}

/** A run of 15 steps, then a stop of 5. */
const running = (step: number) => step % 20 < 15;

export function startMqttSensorSim(opts: { device: MqttDevice; clock?: Clock; tickMs?: number }): MqttSensorSim {
  const { device, tickMs } = opts;
  const clock = opts.clock ?? systemClock;
  const client = connect(device.connection.url, clientOptions(device, 'sim', { reconnectPeriod: 1000 }));
  // Errors show up as publishes that wait for the reconnect; an unheard 'error' would crash.
  client.on('error', () => {});
  const byTopic = signalsByTopic(device);
  const configs = new Map(device.machines.map((m) => [m.code, m]));
  const machines = new Map<string, MachineState>(device.machines.map((m) => [m.code, { step: 0, count: 0, waste: 0 }]));
  let timer: unknown;
  let closed = false;

  function signalValue(s: MqttSignal): unknown {
    const m = machines.get(s.machine)!;
    const config = configs.get(s.machine)!;
    switch (s.kind) {
      case 'count':
        return unscale(m.count, s.source);
      case 'waste':
        return unscale(m.waste, s.source);
      case 'running':
        return s.source.path === undefined ? (running(m.step) ? 'ON' : 'OFF') : running(m.step);
      // The first mapped code, so the machine layer finds a downtime type for it.
      case 'stopReason':
        return Object.keys(config.stopReason?.map ?? {})[0] ?? 'Maintenance';
      case 'parameter': {
        // Phase-shifted per parameter so that they do not move in lockstep.
        const phase = config.parameters.findIndex((p) => p.code === s.code);
        return unscale(Math.round((20 + 5 * Math.sin(m.step / 10 + phase)) * 100) / 100, s.source);
      }
    }
  }

  function payloadOf(group: MqttSignal[]): string {
    const bare = group.find((s) => s.source.path === undefined);
    if (bare) return String(signalValue(bare));
    const doc: Record<string, unknown> = {};
    for (const s of group) setPath(doc, s.source.path!, signalValue(s));
    return JSON.stringify(doc);
  }

  async function tick(): Promise<void> {
    for (const m of machines.values()) {
      m.step += 1;
      if (!running(m.step)) continue;
      m.count += 1 + (m.step % 3);
      if (m.step % 7 === 0) m.waste += 1;
    }
    await Promise.all([...byTopic].map(([topic, group]) => client.publishAsync(topic, payloadOf(group), { qos: 1, retain: true })));
  }

  function schedule(): void {
    timer = clock.setTimeout(() => {
      // A failed tick (broker gone) is simply retried at the next one.
      tick()
        .catch(() => {})
        .finally(() => closed || schedule());
    }, tickMs!);
  }
  if (tickMs !== undefined) schedule();

  return {
    tick,
    async close() {
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await client.endAsync(true);
    },
  };
}

/** The raw value that the adapter's scale/offset turn back into `value`. */
function unscale(value: number, source: MqttSource): number {
  return (value - (source.offset ?? 0)) / (source.scale ?? 1);
}

/** Sets a dot path, creating arrays for numeric parts (`values.0`) and objects otherwise. */
function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at: Record<string, unknown> = doc;
  for (const [i, key] of keys.slice(0, -1).entries()) {
    at[key] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
    at = at[key] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]] = value;
}
