/**
 * The OPC UA adapter: connect, subscribe or poll, and on any break tear everything down
 * and start again with capped backoff. Loaded lazily by the registry (node-opcua is big).
 */
import { Backoff, BACKOFF } from '../../core/backoff.js';
import { sleep } from '../../core/clock.js';
import type { DeviceOf } from '../../config/schema.js';
import { listSignals } from '../signals.js';
import type { AdapterFactory, ProbeRow } from '../types.js';
import { openConnection, type Connection } from './connection.js';
import { routeLibraryLogs } from './library-logs.js';
import { deliver, resolveTargets, type OpcuaSignal } from './nodes.js';
import { pollLoop, readAll } from './poll.js';
import { subscribe } from './subscribe.js';
import { decode } from './values.js';

export const createOpcuaAdapter: AdapterFactory<DeviceOf<'opcua'>> = (device, ctx) => {
  routeLibraryLogs(ctx.logger);
  const signals = listSignals(device) as OpcuaSignal[];
  const mode = device.connection.mode;
  const intervalMs = mode === 'poll' ? device.pollIntervalMs : device.connection.samplingIntervalMs;
  const stopping = new AbortController();
  // Already bound to the device by the gateway.
  const log = ctx.logger;
  let current: Connection | undefined;
  let running: Promise<void> | undefined;

  const connect = () => openConnection(device, ctx.stateDir, { quietMs: intervalMs, clock: ctx.clock }, stopping.signal);
  const onValues = (values: Parameters<typeof deliver>[1]) => deliver(ctx.sink, values, ctx.clock.now());
  const onError = (s: OpcuaSignal, error: string) => ctx.sink.signalError(s.machine, s.key, error, ctx.clock.now());

  /** Why the last attempt failed, while the device is down; undefined once connected. */
  let lastReason: string | undefined;
  let up = false;
  const connected = () => {
    up = true;
    // The sink logs the change of state.
    ctx.sink.connection('connected');
    lastReason = undefined;
  };

  /** Runs one connection until it breaks or the adapter stops. */
  async function serve(conn: Connection): Promise<void> {
    const { targets, failed } = await resolveTargets(conn.session, signals);
    for (const f of failed) onError(f.signal, f.error);
    const active = AbortSignal.any([stopping.signal, conn.lost]);
    if (mode === 'poll') {
      connected();
      return pollLoop(conn, targets, intervalMs, ctx.clock, active, onValues);
    }
    const subscribed = targets.length > 0 ? await subscribe(conn, targets, intervalMs, ctx.clock, onValues, onError) : undefined;
    connected();
    try {
      await new Promise((resolve) => (active.aborted ? resolve(undefined) : active.addEventListener('abort', resolve)));
    } finally {
      await subscribed?.close();
    }
  }

  async function supervise(): Promise<void> {
    const backoff = new Backoff(BACKOFF.opcua, ctx.random);
    ctx.sink.connection('connecting');
    while (!stopping.signal.aborted) {
      let reason: string;
      up = false;
      try {
        const conn = await connect();
        current = conn;
        try {
          await serve(conn);
          reason = String(conn.lost.reason ?? 'stopped');
        } catch (err) {
          reason = conn.lost.aborted ? String(conn.lost.reason) : messageOf(err);
        } finally {
          current = undefined;
          await conn.close();
        }
      } catch (err) {
        reason = messageOf(err);
      }
      if (stopping.signal.aborted) break;
      // A break after being up is worth a quick retry; a setup that fails every time is not.
      if (up) backoff.reset();
      const delay = backoff.next();
      // The sink logs the change to disconnected with its reason. A retry failing for another
      // reason is logged here; the same failure every retry is not logged every 30 s forever.
      const stillDown = lastReason !== undefined;
      ctx.sink.connection('disconnected', reason);
      if (stillDown && reason !== lastReason) log.warn({ event: 'device.still_disconnected', error: reason }, 'device still disconnected, for another reason');
      else log.debug({ error: reason, retryInMs: delay }, 'device connect retry');
      lastReason = reason;
      await sleep(ctx.clock, delay, stopping.signal);
    }
  }

  return {
    async start() {
      // A stopped adapter stays stopped (types.ts).
      if (stopping.signal.aborted) return;
      running ??= supervise();
    },
    async stop() {
      stopping.abort();
      await running;
    },
    async probe(): Promise<ProbeRow[]> {
      const own = current === undefined;
      const conn = current ?? (await connect());
      try {
        const { targets, failed } = await resolveTargets(conn.session, signals);
        const rows = new Map<OpcuaSignal, ProbeRow>();
        const row = (s: OpcuaSignal) => ({ machine: s.machine, signal: s.key, source: s.source.nodeId });
        for (const f of failed) rows.set(f.signal, { ...row(f.signal), error: f.error });
        for (const { signal, dataValue } of await readAll(conn, targets)) {
          const d = decode(dataValue, signal.kind, signal.source);
          const raw = d.raw === undefined ? {} : { raw: d.raw };
          rows.set(
            signal,
            'error' in d
              ? { ...row(signal), ...raw, error: d.error }
              : { ...row(signal), ...raw, value: d.value, ...(d.rollover !== undefined && { rollover: d.rollover }) },
          );
        }
        return signals.map((s) => rows.get(s) ?? { ...row(s), error: 'not read' });
      } finally {
        if (own) await conn.close();
      }
    },
  };
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
