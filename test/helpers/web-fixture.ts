/**
 * A StatusProvider over a fixed GatewayStatus for web tests: two devices (one down), two
 * machines (one running, one stopped), three hours of timeline and production, one dead letter.
 */
import type { GatewayStatus, MachineStatus, StatusProvider } from '../../src/core/status.js';

const MIN = 60_000;

export function fixtureStatus(now = Date.now()): GatewayStatus {
  return {
    version: '0.1.0',
    startedAt: now - 190 * MIN,
    now,
    mes: { baseUrl: 'http://127.0.0.1:8090', reachable: true, lastOkAt: now - 2000 },
    storage: { path: '/var/lib/shopfloor-gateway/gateway.db', state: 'ok' },
    budget: { perMinute: 100, usedLastMinute: 37 },
    outbox: { pending: 3, deadLetters: 1, oldestPendingAt: now - 4000 },
    deadLetters: [
      {
        id: 7,
        machine: 'PRESS02',
        kind: 'counter',
        body: { count: 8123, waste: [{ code: 'Scrap', quantity: 3 }] },
        status: 400,
        reason: 'Waste code "Scrap" does not exist for machine PRESS02',
        at: now - 20 * MIN,
      },
    ],
    devices: [
      { id: 'press-plc-1', protocol: 'modbus-tcp', state: 'connected', lastGoodReadAt: now - 1000, signalErrors: [] },
      {
        id: 'line2-opcua',
        protocol: 'opcua',
        state: 'disconnected',
        lastGoodReadAt: now - 6 * MIN,
        lastError: 'connect ECONNREFUSED 10.0.0.60:4840',
        lastErrorAt: now - 15_000,
        signalErrors: [{ machine: 'PRESS02', signal: 'param:temperature', count: 4, lastMessage: 'BadNodeIdUnknown', lastAt: now - 7 * MIN }],
      },
    ],
    machines: [
      machine('PRESS01', 'press-plc-1', now, 12840, [
        [150, true],
        [95, false, 'Setup'],
        [80, true],
        [30, false, 'Unplanned', false],
        [22, true],
      ]),
      machine('PRESS02', 'line2-opcua', now, 8120, [
        [170, true],
        [60, false, 'Maintenance'],
      ]),
    ],
    stats: {
      requests: { 'counter 200': 812, 'counter 400': 1, 'counter 429': 2, 'startstop 200': 9, 'parameters 0': 3 },
      rateLimited: 2,
      deliveredParts: { PRESS01: 2140, PRESS02: 1210 },
      deliveredWaste: { 'PRESS01 Waste1': 12 },
    },
    config: { loadedAt: now - 190 * MIN, errors: [] },
  };
}

type Change = [minutesAgo: number, running: boolean, type?: string, sent?: boolean];

/** Counts about 12 parts/min while running, none while stopped, sampled once a minute. */
function machine(code: string, device: string, now: number, total: number, changes: Change[]): MachineStatus {
  const timeline = changes.map(([ago, running, type, sent = true]) => ({ at: now - ago * MIN, running, type, sent }));
  const runningAt = (t: number) => timeline.filter((c) => c.at <= t).at(-1)?.running ?? false;
  const production: MachineStatus['production'] = [];
  let t = total;
  for (let ago = 0; ago <= 180; ago++) {
    production.unshift({ at: now - ago * MIN, total: t });
    if (runningAt(now - ago * MIN)) t -= 10 + ((ago * 7) % 5);
  }
  const last = timeline.at(-1)!;
  return {
    code,
    device,
    values: {
      count: { value: total % 65536, at: now - 1000 },
      'waste:Waste1': { value: 57, at: now - 1000 },
      running: { value: last.running, at: now - 1000 },
      'param:temperature': { value: 182.4, at: now - 1000 },
    },
    totals: { count: { total, delivered: total - 4 }, 'waste:Waste1': { total: 57, delivered: 57 } },
    pending: 1,
    run: { running: last.running, type: last.type, since: last.at },
    timeline,
    production,
  };
}

export interface FixtureProvider extends StatusProvider {
  /** Changes the status and tells the listeners, as the gateway does. */
  update(change: (s: GatewayStatus) => void): void;
  calls: { retry: number[]; drop: number[] };
}

export function fixtureProvider(initial: GatewayStatus = fixtureStatus()): FixtureProvider {
  const current = structuredClone(initial);
  const listeners = new Set<() => void>();
  const calls = { retry: [] as number[], drop: [] as number[] };
  const update = (change: (s: GatewayStatus) => void) => {
    change(current);
    for (const l of listeners) l();
  };
  const remove = (id: number) => {
    const i = current.deadLetters.findIndex((d) => d.id === id);
    if (i < 0) return false;
    update((s) => {
      s.deadLetters.splice(i, 1);
      s.outbox.deadLetters--;
    });
    return true;
  };
  return {
    status: () => structuredClone(current),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    retryDeadLetter(id) {
      calls.retry.push(id);
      return remove(id);
    },
    dropDeadLetter(id) {
      calls.drop.push(id);
      return remove(id);
    },
    update,
    calls,
  };
}
