/**
 * The DeviceAdapter lifecycle (src/adapters/types.ts), one suite for every protocol, each
 * against its real server on loopback: pymodbus, node-opcua, mosquitto. What is left
 * behind is read from the process (`getActiveResourcesInfo`: timers and sockets) and from
 * the kernel (`ss`: connections to the server's port).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import { createMqttAdapter } from '../../src/adapters/mqtt/adapter.js';
import { createOpcuaAdapter } from '../../src/adapters/opcua/adapter.js';
import { listSignals } from '../../src/adapters/signals.js';
import type { AdapterContext, ConnectionState, DeviceAdapter } from '../../src/adapters/types.js';
import type { Reading } from '../../src/core/values.js';
import type { DeviceConfig } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { startOpcuaSim } from '../../src/sim/opcua-server.js';
import { fixedBackoff } from '../helpers/backoff.js';
import { TrackingClock } from '../helpers/clocks.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { device } from '../helpers/modbus-harness.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { mqttDevice, publisher, topicPrefix } from '../helpers/mosquitto-harness.js';
import { opcuaDevice } from '../helpers/opcua.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { ownedTempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

/** A running server of one protocol, with one device on it whose `count` the test sets. */
interface Peer {
  port: number;
  device: DeviceConfig;
  create(ctx: AdapterContext): DeviceAdapter;
  /** The machine whose `count` setCount changes, and the signal no server has (an error row). */
  machine: string;
  missing: string;
  setCount(n: number): Promise<void>;
  /** The server dies (process killed, broker stopped, server shut down). */
  kill(): Promise<void>;
}

interface Protocol {
  name: string;
  start(defer: (close: () => unknown) => void): Promise<Peer>;
}

const dir = ownedTempDir('adapter-contract-');
afterAll(() => dir.remove());

const protocols: Protocol[] = [
  {
    name: 'modbus-tcp',
    async start(defer) {
      const server = await startPymodbus();
      defer(() => server.kill());
      const dev = device({
        device: 'plc',
        protocol: 'modbus-tcp',
        connection: { host: '127.0.0.1', port: server.port, timeoutMs: 1000 },
        pollIntervalMs: 100,
        // Address 5000 is beyond the server's 1000: refused with exception 2.
        machines: [{ code: 'M1', count: { area: 'holding', address: 0, type: 'uint32' }, waste: [{ code: 'W1', source: { area: 'holding', address: 5000 } }] }],
      });
      return {
        port: server.port,
        device: dev,
        create: (ctx) => createModbusAdapter(dev, ctx),
        machine: 'M1',
        missing: 'waste:W1',
        setCount: (n) => server.set('holding', 0, 0, n),
        kill: () => server.kill(),
      };
    },
  },
  {
    name: 'opcua',
    async start(defer) {
      const sim = await startOpcuaSim({ port: await freePort(), pkiDir: `${dir.path}/server-pki` });
      defer(() => sim.close());
      const dev = opcuaDevice(sim.endpointUrl, {}, { waste: [{ code: 'Scrap', source: { nodeId: 'ns=1;s=Line1.Missing' } }] });
      return {
        port: sim.port,
        device: dev,
        create: (ctx) => createOpcuaAdapter(dev, { ...ctx, stateDir: `${dir.path}/client` }),
        machine: 'LINE1',
        missing: 'waste:Scrap',
        setCount: async (n) => sim.set('Line1.Counter', n),
        kill: () => sim.stop(),
      };
    },
  },
  {
    name: 'mqtt',
    async start(defer) {
      const broker = await startMosquitto();
      defer(() => broker.cleanup());
      const pub = await publisher(broker.url, { reconnectPeriod: 0 });
      defer(() => pub.close());
      const t = topicPrefix();
      const dev = mqttDevice({ url: broker.url }, [
        { code: 'M1', count: { topic: `${t}/count`, path: 'n' }, waste: [{ code: 'W1', source: { topic: `${t}/silent` } }] },
      ]);
      return {
        port: Number(new URL(broker.url).port),
        device: dev,
        create: (ctx) => createMqttAdapter(dev, ctx, { backoff: fixedBackoff(200), probeWaitMs: 500 }),
        machine: 'M1',
        missing: 'waste:W1',
        // Retained: an adapter that subscribes later still reads it.
        setCount: (n) => pub.publish(`${t}/count`, JSON.stringify({ n }), true),
        kill: () => broker.stop(),
      };
    },
  },
];

/** Connection reports and readings in the order the adapter made them. */
class OrderedSink extends RecordingSink {
  order: (ConnectionState | 'readings')[] = [];

  override readings(batch: Reading[]): void {
    this.order.push('readings');
    super.readings(batch);
  }
  override connection(state: ConnectionState, error?: string): void {
    this.order.push(state);
    super.connection(state, error);
  }
}

/** Timers and sockets of this process, by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Timeout' || r === 'TCPSocketWrap') counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}

/**
 * What the adapter made is gone: right after stop, none of its own timers (they go
 * through ctx.clock) is waiting; and soon after, no more timers or sockets than before
 * remain in the process (libraries may take a moment: node-opcua's close of a secure
 * channel keeps a 100 ms timer of its own).
 */
async function expectNothingLeft(clock: TrackingClock, before: Record<string, number>) {
  expect(clock.pending, 'timers of the adapter').toBe(0);
  await eventually(
    resources,
    (now) => Object.entries(now).every(([k, n]) => n <= (before[k] ?? 0)),
    1000,
    `timers and sockets back to ${JSON.stringify(before)}`,
  );
}

/** Established TCP connections to the server's port, from any process (the MQTT publisher's too). */
function connectionsTo(port: number): number {
  return execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean).length;
}

/** stop() must come back on its own; the bound only keeps a hanging stop from hanging the suite. */
async function stopWithin(adapter: DeviceAdapter, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    adapter.stop().then(() => 'stopped'),
    new Promise((resolve) => (timer = setTimeout(() => resolve('still stopping'), ms))),
  ]);
  clearTimeout(timer);
  expect(outcome).toBe('stopped');
}

describe.each(protocols)('adapter contract: $name', (protocol) => {
  const defer = deferCleanup();

  async function setup() {
    const peer = await protocol.start(defer);
    const sink = new OrderedSink();
    const clock = new TrackingClock();
    const ctx = adapterContext(sink, { clock, random: () => 0.5 });
    return { peer, sink, ctx, clock };
  }

  it('the factory only builds: nothing reported, no timer, no socket; stopped before start, it never starts', async () => {
    const { peer, sink, ctx, clock } = await setup();
    await peer.setCount(1);
    const before = resources();
    const others = connectionsTo(peer.port);
    const adapter = peer.create(ctx);
    defer(() => adapter.stop());
    expect(sink.order).toEqual([]);
    expect(resources()).toEqual(before);
    expect(connectionsTo(peer.port)).toBe(others);

    await stopWithin(adapter, 10_000);
    await adapter.start();
    await expectNothingLeft(clock, before);
    expect(connectionsTo(peer.port)).toBe(others);
    expect(sink.order).toEqual([]);
  });

  it('start resolves at once with connecting, then connected and readings; stop closes everything and is final', async () => {
    const { peer, sink, ctx, clock } = await setup();
    await peer.setCount(42);
    const before = resources();
    const others = connectionsTo(peer.port);
    const adapter = peer.create(ctx);
    defer(() => adapter.stop());
    await adapter.start();
    expect(sink.order[0]).toBe('connecting');
    await eventually(
      () => sink.values('count', peer.machine),
      (v) => v.includes(42),
      20_000,
      'the count read',
    );
    // Readings only once connected.
    expect(sink.order.indexOf('connected')).toBeGreaterThan(0);
    expect(sink.order.indexOf('readings')).toBeGreaterThan(sink.order.indexOf('connected'));
    expect(connectionsTo(peer.port)).toBe(others + 1);

    await stopWithin(adapter, 10_000);
    await stopWithin(adapter, 10_000);
    await expectNothingLeft(clock, before);
    expect(connectionsTo(peer.port)).toBe(others);

    // Start after stop does nothing: no report, no connection, nothing left behind.
    const reported = sink.order.length;
    await adapter.start();
    await peer.setCount(43);
    await expectNothingLeft(clock, before);
    expect(connectionsTo(peer.port)).toBe(others);
    expect(sink.order.length).toBe(reported);
    expect(sink.values('count', peer.machine)).not.toContain(43);
  });

  it('stop against a peer that died resolves and leaves nothing behind', async () => {
    const { peer, sink, ctx, clock } = await setup();
    await peer.setCount(7);
    const before = resources();
    const adapter = peer.create(ctx);
    defer(() => adapter.stop());
    await adapter.start();
    await eventually(
      () => sink.values('count', peer.machine),
      (v) => v.includes(7),
      20_000,
      'the count read',
    );
    await peer.kill();
    await stopWithin(adapter, 10_000);
    await expectNothingLeft(clock, before);
  });

  it('a peer that is not there: disconnected with the error, retried in the background, stop leaves nothing', async () => {
    const { peer, sink, ctx, clock } = await setup();
    await peer.kill();
    const before = resources();
    const adapter = peer.create(ctx);
    defer(() => adapter.stop());
    await adapter.start();
    await eventually(
      () => sink.state,
      (s) => s === 'disconnected',
      20_000,
      'disconnected',
    );
    expect(sink.order[0]).toBe('connecting');
    expect(sink.order).not.toContain('connected');
    expect(sink.states.at(-1)!.error).toBeTruthy();
    await stopWithin(adapter, 10_000);
    await expectNothingLeft(clock, before);
  });

  it('probe without start: one row per signal with machine, signal, source and a value or an error; closes its connection', async () => {
    const { peer, sink, ctx, clock } = await setup();
    await peer.setCount(5);
    const before = resources();
    const others = connectionsTo(peer.port);
    const adapter = peer.create(ctx);
    defer(() => adapter.stop());
    const rows = await adapter.probe();
    expect(rows.map((r) => [r.machine, r.signal])).toEqual(listSignals(peer.device).map((s) => [s.machine, s.key]));
    for (const row of rows) {
      expect(row.source).toMatch(/\S/);
      // Exactly one of value and error.
      expect(row.value === undefined).toBe(row.error !== undefined);
    }
    expect(rows.find((r) => r.signal === 'count')).toMatchObject({ machine: peer.machine, value: 5 });
    expect(rows.find((r) => r.signal === peer.missing)!.error).toMatch(/\S/);
    expect(sink.order).toEqual([]);
    await expectNothingLeft(clock, before);
    expect(connectionsTo(peer.port)).toBe(others);
  });
});
