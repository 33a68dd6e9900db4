/** `mode: poll`: one Read of every node per interval. */
import { AttributeIds, type DataValue } from 'node-opcua';
import { sleep, type Clock } from '../../core/clock.js';
import type { Connection } from './connection.js';
import type { OpcuaSignal, Target } from './nodes.js';

export async function readAll(conn: Connection, targets: Target[]): Promise<{ signal: OpcuaSignal; dataValue: DataValue }[]> {
  if (targets.length === 0) return [];
  // maxAge 0: the device's current value, not a server-side cache.
  const values = await conn.session.read(
    targets.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
    0,
  );
  return values.map((dataValue, i) => ({ signal: targets[i].signal, dataValue }));
}

/**
 * Reads until `signal` aborts (stop, or the connection broke). A failed Read throws:
 * it means the session is unusable, and the caller reconnects.
 */
export async function pollLoop(
  conn: Connection,
  targets: Target[],
  intervalMs: number,
  clock: Clock,
  signal: AbortSignal,
  onValues: (values: { signal: OpcuaSignal; dataValue: DataValue }[]) => void,
): Promise<void> {
  while (!signal.aborted) {
    const started = clock.now();
    const values = await readAll(conn, targets);
    if (signal.aborted) return;
    onValues(values);
    await sleep(clock, Math.max(0, intervalMs - (clock.now() - started)), signal);
  }
}
