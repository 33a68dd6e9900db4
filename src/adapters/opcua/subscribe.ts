/** `mode: subscribe`: one subscription, one monitored item per signal. */
import { AttributeIds, ClientMonitoredItemGroup, TimestampsToReturn, type DataValue } from 'node-opcua';
import { sleep, type Clock } from '../../core/clock.js';
import type { Connection } from './connection.js';
import type { OpcuaSignal, Target } from './nodes.js';

export interface Subscribed {
  close(): Promise<void>;
}

/** The server sends a keep-alive after this many empty publishing intervals: about every 10 s. */
function keepAliveCount(intervalMs: number): number {
  return Math.max(1, Math.round(10_000 / intervalMs));
}

/**
 * Resolves once the monitored items exist. `onValues` gets the values of one publish
 * response together (node-opcua dispatches them in one synchronous loop, so they are
 * gathered until the next turn of the event loop); `onError` gets items the server refused.
 * A subscription that ends on its own (server timed it out), or a server that has sent
 * nothing for three keep-alive periods (a silent network: the client keeps writing, so
 * the socket never looks idle), counts as a lost connection.
 */
export async function subscribe(
  conn: Connection,
  targets: Target[],
  intervalMs: number,
  clock: Clock,
  onValues: (values: { signal: OpcuaSignal; dataValue: DataValue }[]) => void,
  onError: (signal: OpcuaSignal, error: string) => void,
): Promise<Subscribed> {
  const keepAlive = keepAliveCount(intervalMs);
  const subscription = await conn.session.createSubscription2({
    requestedPublishingInterval: intervalMs,
    requestedMaxKeepAliveCount: keepAlive,
    requestedLifetimeCount: keepAlive * 6,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
    priority: 10,
  });
  let closing = false;
  subscription.on('terminated', () => {
    if (!closing) conn.markLost('the server ended the subscription');
  });
  let lastHeard = clock.now();
  const heard = () => (lastHeard = clock.now());
  subscription.on('keepalive', heard);
  subscription.on('received_notifications', heard);

  const group = ClientMonitoredItemGroup.create(
    subscription,
    targets.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
    // Only the newest value matters: counters are cumulative, states are states.
    { samplingInterval: intervalMs, queueSize: 1, discardOldest: true },
    TimestampsToReturn.Neither,
  );
  let pending = new Map<number, DataValue>();
  group.on('changed', (_item, dataValue, index) => {
    if (pending.size === 0) setImmediate(flush);
    pending.set(index, dataValue);
  });
  function flush() {
    const ready = [...pending].sort(([a], [b]) => a - b);
    pending = new Map();
    if (!closing) onValues(ready.map(([i, dataValue]) => ({ signal: targets[i].signal, dataValue })));
  }

  await new Promise<void>((resolve, reject) => {
    group.once('initialized', resolve);
    group.once('terminated', (err) => reject(err ?? new Error('creating the monitored items failed')));
  });
  group.monitoredItems.forEach((item, i) => {
    if (!item.statusCode.isGood()) onError(targets[i].signal, item.statusCode.name);
  });

  const watching = new AbortController();
  void watchdog(
    () => clock.now() - lastHeard,
    3 * subscription.publishingInterval * subscription.maxKeepAliveCount,
    clock,
    AbortSignal.any([watching.signal, conn.lost]),
    (silentMs) => conn.markLost(`no message from the server for ${Math.round(silentMs / 1000)} s`),
  );
  return {
    async close() {
      closing = true;
      watching.abort();
      // A dead connection cannot delete it; the server drops it with the session anyway.
      if (!conn.lost.aborted) await subscription.terminate().catch(() => undefined);
    },
  };
}

async function watchdog(silence: () => number, limitMs: number, clock: Clock, signal: AbortSignal, onSilent: (ms: number) => void) {
  while (!signal.aborted) {
    await sleep(clock, 1000, signal);
    if (!signal.aborted && silence() > limitMs) return onSilent(silence());
  }
}
