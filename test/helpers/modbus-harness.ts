/** Shared pieces of the Modbus tests: a recording sink, a quiet context, waiting. */
import pino from 'pino';
import { systemClock } from '../../src/clock.js';
import { deviceSchema, modbusSource, type DeviceConfig, type ModbusSource } from '../../src/config/schema.js';
import type { AdapterContext, AdapterSink, ConnectionState, Reading } from '../../src/adapters/types.js';

/** A source as a device file would give it (defaults filled in). */
export const source = (s: Record<string, unknown>): ModbusSource => modbusSource.parse(s);

/** A device as the config loader would give it. */
export const device = <D extends DeviceConfig>(d: Record<string, unknown>) => deviceSchema.parse(d) as D;

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

  get state(): ConnectionState | undefined {
    return this.states.at(-1)?.state;
  }
  /** The newest value of a signal, or undefined. */
  latest(machine: string, signal: string): Reading['value'] | undefined {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const r = this.batches[i].find((x) => x.machine === machine && x.signal === signal);
      if (r) return r.value;
    }
    return undefined;
  }
}

export function context(sink: AdapterSink): AdapterContext {
  return { sink, logger: pino({ level: 'silent' }), clock: systemClock, stateDir: '/nonexistent' };
}

/** Polls `cond` until true; fails after `timeoutMs` (generous: these are not timing assertions). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
