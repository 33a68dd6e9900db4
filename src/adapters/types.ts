/**
 * The one small interface every protocol implements. An adapter owns its connection:
 * it connects, polls or subscribes, reconnects with backoff, and reports what it read.
 * It never throws out of start() for a dead peer, and a slow peer stalls only itself.
 */
import type { Logger } from 'pino';
import type { DeviceConfig } from '../config/schema.js';
import type { Clock } from '../clock.js';

/** A decoded value, ready for the machine layer. Bad values never get here. */
export type SignalValue = number | boolean | string;

export interface Reading {
  machine: string;
  /** Signal key, see signals.ts. */
  signal: string;
  value: SignalValue;
  /** The value as the protocol gave it (register words, JSON fragment, variant), for display. */
  raw?: unknown;
  /** Epoch ms at which it was read. */
  at: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** Where an adapter reports. Implementations must not throw back into the adapter. */
export interface AdapterSink {
  /** All values of one poll cycle, or one or more subscription updates. */
  readings(batch: Reading[]): void;
  /** A signal that could not be read or decoded (bad status, NaN, garbage payload). */
  signalError(machine: string, signal: string, message: string, at: number): void;
  connection(state: ConnectionState, error?: string): void;
}

export interface ProbeRow {
  machine: string;
  signal: string;
  /** The source, as a technician would write it (e.g. `holding 0 uint32`, `ns=3;s=X`). */
  source: string;
  raw?: string;
  value?: SignalValue;
  error?: string;
}

export interface AdapterContext {
  sink: AdapterSink;
  logger: Logger;
  clock: Clock;
  /** Folder for an adapter's own files (e.g. OPC UA certificates), inside the storage folder. */
  stateDir: string;
}

export interface DeviceAdapter {
  /** Connects and begins polling/subscribing in the background; resolves at once. */
  start(): Promise<void>;
  /** Stops every timer and closes the connection. */
  stop(): Promise<void>;
  /** Connects if needed, reads every signal once. For the `probe` command. */
  probe(): Promise<ProbeRow[]>;
}

export type AdapterFactory<D extends DeviceConfig = DeviceConfig> = (device: D, ctx: AdapterContext) => DeviceAdapter;
