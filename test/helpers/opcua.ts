/** Shared pieces of the OPC UA tests: a device config, a recording sink, a free port. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/clock.js';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import type { AdapterContext, AdapterSink, ConnectionState, Reading } from '../../src/adapters/types.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A line with every signal kind, on the simulator's default nodes. */
export function opcuaDevice(
  endpointUrl: string,
  connection: Record<string, unknown> = {},
  machine: Record<string, unknown> = {},
): DeviceOf<'opcua'> {
  return deviceSchema.parse({
    device: 'line1-opcua',
    protocol: 'opcua',
    pollIntervalMs: 100,
    connection: { endpointUrl, samplingIntervalMs: 50, ...connection },
    machines: [
      {
        code: 'LINE1',
        count: { nodeId: 'ns=1;s=Line1.Counter' },
        waste: [{ code: 'Scrap', source: { nodeId: 'ns=1;s=Line1.Waste' } }],
        running: { nodeId: 'ns=1;s=Line1.Running' },
        stopReason: { source: { nodeId: 'ns=1;s=Line1.StopReason' }, map: { 1: 'Maintenance' }, default: 'Unplanned' },
        parameters: [{ code: 'temperature', source: { nodeId: 'ns=1;s=Line1.Temperature', scale: 10 } }],
        ...machine,
      },
    ],
  }) as DeviceOf<'opcua'>;
}

export interface Recorder extends AdapterSink {
  batches: Reading[][];
  errors: { machine: string; signal: string; message: string }[];
  states: { state: ConnectionState; error?: string }[];
  /** Values of one signal in the order they arrived. */
  values(signal: string): unknown[];
  /** Polls `check` until it is true; fails after `ms` (a bound, not a timing assertion). */
  until(what: string, check: () => boolean, ms?: number): Promise<void>;
}

export function recorder(): Recorder {
  const r: Recorder = {
    batches: [],
    errors: [],
    states: [],
    readings: (batch) => void r.batches.push(batch),
    signalError: (machine, signal, message) => void r.errors.push({ machine, signal, message }),
    connection: (state, error) => void r.states.push({ state, error }),
    values: (signal) => r.batches.flat().filter((x) => x.signal === signal).map((x) => x.value),
    async until(what, check, ms = 20_000) {
      for (let waited = 0; !check(); waited += 25) {
        if (waited >= ms) throw new Error(`timed out waiting for ${what}; states ${JSON.stringify(r.states)}, errors ${JSON.stringify(r.errors)}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    },
  };
  return r;
}

export function adapterContext(sink: AdapterSink, stateDir: string): AdapterContext {
  return { sink, logger: pino({ level: 'silent' }), clock: systemClock, stateDir };
}
