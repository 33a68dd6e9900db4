/** Signals → node ids on the server, and read values → readings or per-signal errors. */
import { resolveNodeId, type ClientSession, type DataValue, type NodeId } from 'node-opcua';
import type { OpcuaSource } from '../../config/schema.js';
import type { Signal } from '../signals.js';
import type { AdapterSink } from '../types.js';
import type { Reading } from '../../core/values.js';
import { decode } from './values.js';

export type OpcuaSignal = Signal<OpcuaSource>;

export interface Target {
  signal: OpcuaSignal;
  nodeId: NodeId;
}

/**
 * `nsu=<uri>;…` ids are looked up in the server's namespace array, which may change
 * between server versions; a signal whose id cannot be resolved gets an error instead.
 */
export async function resolveTargets(
  session: ClientSession,
  signals: OpcuaSignal[],
): Promise<{ targets: Target[]; failed: { signal: OpcuaSignal; error: string }[] }> {
  const byUri = signals.some((s) => s.source.nodeId.startsWith('nsu=')) ? await session.readNamespaceArray() : [];
  const targets: Target[] = [];
  const failed: { signal: OpcuaSignal; error: string }[] = [];
  for (const signal of signals) {
    let id = signal.source.nodeId;
    const nsu = /^nsu=([^;]+);(.*)$/.exec(id);
    if (nsu) {
      const index = byUri.indexOf(nsu[1]);
      if (index < 0) {
        failed.push({ signal, error: `namespace ${nsu[1]} is not on the server` });
        continue;
      }
      id = `ns=${index};${nsu[2]}`;
    }
    try {
      targets.push({ signal, nodeId: resolveNodeId(id) });
    } catch (err) {
      failed.push({ signal, error: `invalid node id: ${(err as Error).message}` });
    }
  }
  return { targets, failed };
}

/** One batch of readings for the good values; each bad one is reported on its own. */
export function deliver(sink: AdapterSink, values: { signal: OpcuaSignal; dataValue: DataValue }[], at: number): void {
  const batch: Reading[] = [];
  for (const { signal, dataValue } of values) {
    const d = decode(dataValue, signal.kind, signal.source);
    if ('error' in d) sink.signalError(signal.machine, signal.key, d.error, at);
    else batch.push({ machine: signal.machine, signal: signal.key, value: d.value, raw: d.raw, at, ...(d.rollover !== undefined && { rollover: d.rollover }) });
  }
  if (batch.length > 0) sink.readings(batch);
}
