/** What MQTT adapter tests share: a recording sink, a device builder, a publisher, a bounded wait. */
import { randomUUID } from 'node:crypto';
import { connect, type IClientOptions } from 'mqtt';
import { pino } from 'pino';
import { vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import type { AdapterContext, AdapterSink, ConnectionState, Reading } from '../../src/adapters/types.js';

export class RecordingSink implements AdapterSink {
  batches: Reading[][] = [];
  errors: { machine: string; signal: string; message: string }[] = [];
  states: { state: ConnectionState; error?: string }[] = [];

  readings(batch: Reading[]): void {
    this.batches.push(batch);
  }
  signalError(machine: string, signal: string, message: string): void {
    this.errors.push({ machine, signal, message });
  }
  connection(state: ConnectionState, error?: string): void {
    this.states.push({ state, error });
  }

  values(signal: string, machine = 'M1'): unknown[] {
    return this.batches.flat().filter((r) => r.machine === machine && r.signal === signal).map((r) => r.value);
  }
  errorsOf(signal: string, machine = 'M1'): string[] {
    return this.errors.filter((e) => e.machine === machine && e.signal === signal).map((e) => e.message);
  }
  get state(): ConnectionState | undefined {
    return this.states.at(-1)?.state;
  }
}

export function adapterContext(sink: AdapterSink): AdapterContext {
  return { sink, logger: pino({ level: 'silent' }), clock: systemClock, stateDir: '/nonexistent' };
}

/** A validated mqtt device, defaults applied as the config loader would. */
export function mqttDevice(connection: Record<string, unknown>, machines: Record<string, unknown>[]): DeviceOf<'mqtt'> {
  return deviceSchema.parse({ device: 'mqtt-test', protocol: 'mqtt', connection, machines }) as DeviceOf<'mqtt'>;
}

/** A topic prefix of its own per test, so retained messages never leak between tests. */
export function topicPrefix(): string {
  return `test/${randomUUID()}`;
}

/** Retries an assertion until it holds; generous bound, no timing claims. */
export function eventually(assertion: () => void, timeout = 20_000): Promise<void> {
  return vi.waitFor(assertion, { timeout, interval: 20 });
}

export interface Publisher {
  publish(topic: string, payload: string | Buffer, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function publisher(url: string, options: IClientOptions = {}): Promise<Publisher> {
  const client = connect(url, { reconnectPeriod: 200, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  // Later errors surface as rejected publishes; an unheard 'error' event would crash the worker.
  client.on('error', () => {});
  return {
    async publish(topic, payload, retain = false) {
      await client.publishAsync(topic, payload, { qos: 1, retain });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
