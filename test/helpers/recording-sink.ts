/** An AdapterSink that records everything an adapter reports, and a quiet context around it. */
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import type { AdapterContext, AdapterSink, ConnectionState } from '../../src/adapters/types.js';
import type { Reading } from '../../src/core/values.js';

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

  /** The newest connection state, or undefined before the first. */
  get state(): ConnectionState | undefined {
    return this.states.at(-1)?.state;
  }
  /** The connection states in order, repeats collapsed: a repeat only updates the error (e.g. "Timed out", then ECONNREFUSED). */
  stateChanges(): ConnectionState[] {
    return this.states.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
  }

  /** The newest value of a signal, or undefined. */
  latest(machine: string, signal: string): Reading['value'] | undefined {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const r = this.batches[i].find((x) => x.machine === machine && x.signal === signal);
      if (r) return r.value;
    }
    return undefined;
  }
  /** Values of one signal of one machine, in the order they arrived. */
  values(signal: string, machine = 'M1'): unknown[] {
    return this.batches
      .flat()
      .filter((r) => r.machine === machine && r.signal === signal)
      .map((r) => r.value);
  }
  /** Values of one signal, whichever machine reported them, in the order they arrived. */
  allValues(signal: string): unknown[] {
    return this.batches
      .flat()
      .filter((r) => r.signal === signal)
      .map((r) => r.value);
  }
  /** Error messages of one signal of one machine, in order. */
  errorsOf(signal: string, machine = 'M1'): string[] {
    return this.errors.filter((e) => e.machine === machine && e.signal === signal).map((e) => e.message);
  }
}

/** A context for an adapter under test: silent logger, system clock, Math.random, no state folder unless given. */
export function adapterContext(sink: AdapterSink, overrides: Partial<Omit<AdapterContext, 'sink'>> = {}): AdapterContext {
  return { sink, logger: pino({ level: 'silent' }), clock: systemClock, random: Math.random, stateDir: '/nonexistent', ...overrides };
}
