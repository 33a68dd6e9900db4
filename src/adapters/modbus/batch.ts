/**
 * One poll's readings and bad values, gathered as the reader tells them (a CycleSink) and
 * handed to the adapter's sink once the cycle is whole. Built for thousands of signals a
 * poll: one object per reading, the raw words copied out only when someone looks.
 */
import type { AdapterSink } from '../types.js';
import type { Reading } from '../../core/values.js';
import { isCounter } from '../signals.js';
import { typeRollover, type RawData } from './decode.js';
import type { ModbusSignal } from './plan.js';
import type { CycleSink } from './reader.js';

/** Where a counter wraps, as its register type says. */
export function rolloverOf(signal: ModbusSignal): number | undefined {
  return isCounter(signal.kind) ? typeRollover(signal.source) : undefined;
}

/**
 * A Reading whose `raw` (its span of the block's words or bits, for display) is sliced from
 * the block's answer on access: the machine layer never reads it, so most are never made.
 */
class ModbusReading implements Reading {
  readonly machine: string;
  readonly signal: string;
  readonly value: number | boolean;
  /** Set when the poll is whole, as for its bad values. */
  at = 0;
  declare readonly rollover?: number;
  readonly #data: RawData;
  readonly #from: number;
  readonly #to: number;

  constructor(signal: ModbusSignal, value: number | boolean, data: RawData, from: number, to: number) {
    this.machine = signal.machine;
    this.signal = signal.key;
    this.value = value;
    const rollover = rolloverOf(signal);
    // Absent rather than undefined, as every other adapter's readings.
    if (rollover !== undefined) (this as { rollover?: number }).rollover = rollover;
    this.#data = data;
    this.#from = from;
    this.#to = to;
  }

  get raw(): RawData {
    return this.#data.slice(this.#from, this.#to);
  }
}

export class PollBatch implements CycleSink {
  private readonly readings: ModbusReading[] = [];
  private readonly errors: { signal: ModbusSignal; message: string }[] = [];

  value(signal: ModbusSignal, value: number | boolean, data: RawData, from: number, to: number): void {
    this.readings.push(new ModbusReading(signal, value, data, from, to));
  }

  error(signal: ModbusSignal, message: string): void {
    this.errors.push({ signal, message });
  }

  /** Bad values first, one by one, then the readings as one batch (if any); `at`: when the poll ended (epoch ms). */
  deliver(sink: AdapterSink, at: number): void {
    for (const e of this.errors) sink.signalError(e.signal.machine, e.signal.key, e.message, at);
    if (this.readings.length === 0) return;
    for (const r of this.readings) r.at = at;
    sink.readings(this.readings);
  }
}
