/**
 * The one small interface every protocol implements. An adapter owns its connection:
 * it connects, polls or subscribes, reconnects with the shared backoff (src/core/backoff.ts),
 * and reports what it read. A slow or dead peer stalls only its own adapter.
 *
 * Lifecycle, the same for every protocol (test/integration/adapter-contract.test.ts):
 * - The factory only builds: no I/O, no timers, nothing reported.
 * - start() reports `connecting` first, resolves at once and connects in the background;
 *   it never rejects for a dead peer. A second start() does nothing.
 * - Then `connected`, or `disconnected` with the error; after a loss, `disconnected` with
 *   the reason, and retries with backoff. A failed retry may report `disconnected` again
 *   (the sink takes repeats).
 * - readings() only while connected; signalError() for a signal that cannot be read.
 * - stop() resolves once every timer and socket of the adapter is gone (a library may
 *   still finish a close within a moment), also against a dead or silent peer; nothing is
 *   reported after it; a second stop() does nothing.
 * - A stopped adapter stays stopped: start() after stop() resolves and does nothing. The
 *   gateway builds a new adapter for a changed device (DeviceSupervisor.reload), never restarts one.
 * - probe() may be called without start(): it reads every signal once over a connection of
 *   its own (or the running one) and closes what it opened; one row per signal, in
 *   listSignals order, with machine, signal, source and either value (and raw) or error.
 */
import type { Logger } from 'pino';
import type { DeviceConfig } from '../config/schema.js';
import type { Random } from '../core/backoff.js';
import type { Clock } from '../core/clock.js';
import type { Reading, SignalValue } from '../core/values.js';

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
  /** As Reading.rollover, for `probe` to judge a count as the gateway would. */
  rollover?: number;
  error?: string;
}

export interface AdapterContext {
  sink: AdapterSink;
  logger: Logger;
  clock: Clock;
  /** Jitter of the reconnect backoff. */
  random: Random;
  /** Folder for an adapter's own files (e.g. OPC UA certificates), inside the storage folder. */
  stateDir: string;
}

export interface DeviceAdapter {
  /** Reports `connecting`, then connects and polls/subscribes in the background; resolves at once. */
  start(): Promise<void>;
  /** Resolves when every timer is cleared and every socket closed; final and idempotent. */
  stop(): Promise<void>;
  /** Connects if needed, reads every signal once, one row per signal. For the `probe` command. */
  probe(): Promise<ProbeRow[]>;
}

export type AdapterFactory<D extends DeviceConfig = DeviceConfig> = (device: D, ctx: AdapterContext) => DeviceAdapter;
