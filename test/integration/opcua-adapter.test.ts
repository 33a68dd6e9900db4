/**
 * The OPC UA adapter against a real node-opcua server on loopback, unsecured. One
 * server for the whole file (its certificate is made once); the restart test runs last.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpcuaAdapter } from '../../src/adapters/opcua/adapter.js';
import { defaultOpcuaSimNodes, startOpcuaSim, type OpcuaSim } from '../../src/sim/opcua-server.js';
import { SkewedClock, TrackingClock } from '../helpers/clocks.js';
import { BACKOFF } from '../../src/core/backoff.js';
import { opcuaDevice } from '../helpers/opcua.js';
import { freePort } from '../../src/sim/free-port.js';
import { startSilentLink } from '../helpers/tcp-link.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { ownedTempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';
import type { Reading } from '../../src/core/values.js';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { MachineProcessor } from '../../src/machine/processor.js';

const dir = ownedTempDir('opcua-adapter-');
const stateDir = `${dir.path}/state`;
let sim: OpcuaSim;

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: `${dir.path}/server-pki`,
    nodes: [...defaultOpcuaSimNodes, { name: 'Line1.Total', type: 'Int64', value: 2 ** 40 + 5 }, { name: 'Line1.Count16', type: 'UInt16', value: 65530 }],
  });
});

afterAll(async () => {
  await sim?.close();
  dir.remove();
});

/** Waits for `check`; on a timeout the error shows the sink's connection states and errors. */
const until = (r: RecordingSink, what: string, check: () => boolean) =>
  eventually(
    () => ({ done: check(), states: r.states, errors: r.errors }),
    (v) => v.done,
    20_000,
    what,
  );

const connectedCount = (r: RecordingSink) => r.states.filter((s) => s.state === 'connected').length;

/** Sets the counter and waits until the adapter has reported that very value. */
async function count(r: RecordingSink, value: number) {
  sim.set('Line1.Counter', value);
  await until(r, `count ${value}`, () => r.allValues('count').includes(value));
}

describe('OPC UA adapter', () => {
  it('subscribe: the first burst is one batch of every signal, then the counter follows the server', async () => {
    sim.set('Line1.Counter', 0);
    const r = new RecordingSink();
    const adapter = createOpcuaAdapter(opcuaDevice(sim.endpointUrl), adapterContext(r, { stateDir }));
    await adapter.start();
    try {
      await until(r, 'first batch', () => r.batches.length > 0);
      expect(Object.fromEntries(r.batches[0].map((x) => [x.signal, x.value]))).toEqual({
        count: 0,
        'waste:Scrap': 0,
        running: true,
        stopReason: 0,
        'param:temperature': 215, // 21.5 × scale 10
      });
      expect(r.batches[0].find((x) => x.signal === 'count')?.raw).toBe('UInt32 0');
      for (const v of [1, 2, 3]) await count(r, v);
      expect(r.allValues('count')).toEqual([0, 1, 2, 3]);
      expect(r.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
      expect(r.errors).toEqual([]);
    } finally {
      await adapter.stop();
    }
  });

  it("a UInt16 counter that wraps is taken as a wrap, not a reset: its rollover comes from the node's DataType", async () => {
    const db = openDatabase(`${dir.path}/wrap.db`);
    const state = new MachineStateStore(db);
    const processor = new MachineProcessor(new SqliteMachineStore(db, state, new Outbox(db)));
    const device = opcuaDevice(sim.endpointUrl, {}, { count: { nodeId: 'ns=1;s=Line1.Count16' } });
    processor.setMachines(device.machines.map((config) => ({ device: device.device, config })));
    // The gateway's path: every batch the adapter reports goes to the machine layer.
    class Feeding extends RecordingSink {
      override readings(batch: Reading[]): void {
        super.readings(batch);
        processor.apply(batch, Date.now());
      }
    }
    const r = new Feeding();
    const adapter = createOpcuaAdapter(device, adapterContext(r, { stateDir }));
    await adapter.start();
    try {
      await until(r, 'first sight', () => r.allValues('count').includes(65530));
      expect(r.batches.flat().find((x) => x.signal === 'count')?.rollover).toBe(2 ** 16);
      for (const v of [65534, 2]) {
        sim.set('Line1.Count16', v);
        await until(r, `count ${v}`, () => r.allValues('count').includes(v));
      }
      // 65530 → 65534 → 2: 4 parts, then 4 across the wrap; a reset would hold the total at 65534.
      expect(state.counter('LINE1', 'count')).toMatchObject({ lastRaw: 2, total: 65538 });
    } finally {
      await adapter.stop();
      db.close();
    }
  });

  it('poll: every interval reads all nodes in one batch', async () => {
    sim.set('Line1.Counter', 10);
    const r = new RecordingSink();
    const adapter = createOpcuaAdapter(opcuaDevice(sim.endpointUrl, { mode: 'poll' }), adapterContext(r, { stateDir }));
    await adapter.start();
    try {
      await until(r, 'two polls', () => r.batches.length >= 2);
      expect(r.batches.every((b) => b.length === 5)).toBe(true);
      await count(r, 11);
      await count(r, 12);
      expect([...new Set(r.allValues('count'))]).toEqual([10, 11, 12]);
      expect(r.errors).toEqual([]);
    } finally {
      await adapter.stop();
    }
  });

  it('a missing node, a text where a number belongs and a bad status are errors of their signal only; a text parameter is a value', async () => {
    sim.set('Line1.Counter', 20);
    const device = opcuaDevice(
      sim.endpointUrl,
      {},
      {
        waste: [
          { code: 'Scrap', source: { nodeId: 'ns=1;s=Line1.Missing' } },
          { code: 'Rework', source: { nodeId: 'ns=1;s=Line1.Batch' } },
        ],
        parameters: [
          { code: 'temperature', source: { nodeId: 'ns=1;s=Line1.Temperature' } },
          { code: 'batch', source: { nodeId: 'ns=1;s=Line1.Batch' } },
          { code: 'total', source: { nodeId: 'ns=1;s=Line1.Total' } },
        ],
      },
    );
    const r = new RecordingSink();
    const adapter = createOpcuaAdapter(device, adapterContext(r, { stateDir }));
    await adapter.start();
    try {
      await until(r, 'first values', () => r.allValues('count').includes(20));
      await until(r, 'both errors', () => r.errors.length >= 2);
      expect(r.errors).toContainEqual({ machine: 'LINE1', signal: 'waste:Scrap', message: 'BadNodeIdUnknown' });
      expect(r.errors).toContainEqual({
        machine: 'LINE1',
        signal: 'waste:Rework',
        message: 'type mismatch: String "B-0001" where a number is expected',
      });
      expect(r.allValues('param:total')).toEqual([2 ** 40 + 5]);
      expect(r.allValues('waste:Scrap')).toEqual([]);
      expect(r.allValues('waste:Rework')).toEqual([]);
      expect(r.allValues('param:batch')).toEqual(['B-0001']);

      sim.setStatus('Line1.Temperature', 'BadWaitingForInitialData');
      await until(r, 'bad status', () => r.errors.some((e) => e.message === 'BadWaitingForInitialData'));
      expect(r.errors.at(-1)).toEqual({ machine: 'LINE1', signal: 'param:temperature', message: 'BadWaitingForInitialData' });
      sim.set('Line1.Temperature', 22);
      await until(r, 'good again', () => r.allValues('param:temperature').includes(22));
      expect(r.allValues('param:temperature')).toEqual([21.5, 22]);
      await count(r, 21);

      const rows = await adapter.probe();
      expect(rows.map((x) => [x.signal, x.value ?? x.error])).toEqual([
        ['count', 21],
        ['waste:Scrap', 'BadNodeIdUnknown'],
        ['waste:Rework', 'type mismatch: String "B-0001" where a number is expected'],
        ['running', true],
        ['stopReason', 0],
        ['param:temperature', 22],
        ['param:batch', 'B-0001'],
        ['param:total', 2 ** 40 + 5],
      ]);
      expect(rows[0]).toEqual({ machine: 'LINE1', signal: 'count', source: 'ns=1;s=Line1.Counter', raw: 'UInt32 21', value: 21, rollover: 2 ** 32 });
    } finally {
      await adapter.stop();
    }
  });

  it('retries a server that is not there with the OPC UA backoff, jittered by the random source it was given', async () => {
    const r = new RecordingSink();
    const clock = new TrackingClock();
    const adapter = createOpcuaAdapter(opcuaDevice(`opc.tcp://127.0.0.1:${await freePort()}`), adapterContext(r, { stateDir, clock, random: () => 0 }));
    await adapter.start();
    // Jitter 0.2 with the random source at 0: each delay is 80 % of its ceiling.
    const { firstMs } = BACKOFF.opcua;
    const retries = [firstMs * 0.8, firstMs * 2 * 0.8];
    await until(r, 'two retries', () => retries.every((d) => clock.delays.includes(d)));
    expect(clock.delays.indexOf(retries[1])).toBeGreaterThan(clock.delays.indexOf(retries[0]));
    expect(r.states[0].state).toBe('connecting');
    expect(r.states.slice(1).every((s) => s.state === 'disconnected')).toBe(true);
    await adapter.stop();
    expect(clock.pending).toBe(0);
  });

  it('probe works without start: it connects, reads once and disconnects', async () => {
    const adapter = createOpcuaAdapter(opcuaDevice(sim.endpointUrl), adapterContext(new RecordingSink(), { stateDir }));
    const rows = await adapter.probe();
    await adapter.stop();
    expect(rows.map((x) => x.signal)).toEqual(['count', 'waste:Scrap', 'running', 'stopReason', 'param:temperature']);
    expect(rows.every((x) => x.error === undefined)).toBe(true);
  });

  it('a silent network is noticed by the keep-alive watchdog, and the adapter reconnects once it is back', async () => {
    const link = await startSilentLink(sim.port);
    // Real timers, but a clock that can jump past the watchdog's limit instead of waiting 30 s.
    const clock = new SkewedClock();
    const r = new RecordingSink();
    const adapter = createOpcuaAdapter(opcuaDevice(`opc.tcp://127.0.0.1:${link.port}`), adapterContext(r, { stateDir, clock }));
    sim.set('Line1.Counter', 30);
    await adapter.start();
    try {
      await until(r, 'count 30', () => r.allValues('count').includes(30));
      link.silence();
      sim.set('Line1.Counter', 31);
      clock.skew = 60_000;
      await until(r, 'watchdog', () => r.states.some((s) => s.error?.startsWith('no message from the server')));
      expect(r.allValues('count')).not.toContain(31);
      link.restore();
      await until(r, 'reconnected', () => connectedCount(r) === 2);
      await until(r, 'count 31', () => r.allValues('count').includes(31));
      await count(r, 32);
      expect(r.allValues('count')).toEqual([30, 31, 32]);
    } finally {
      await adapter.stop();
      await link.close();
    }
  });

  for (const mode of ['subscribe', 'poll'] as const) {
    it(`${mode}: after a server restart the adapter reconnects by itself and the counter continues`, async () => {
      const r = new RecordingSink();
      const adapter = createOpcuaAdapter(opcuaDevice(sim.endpointUrl, { mode }), adapterContext(r, { stateDir }));
      sim.set('Line1.Counter', 40);
      await adapter.start();
      try {
        await until(r, 'count 40', () => r.allValues('count').includes(40));
        await sim.stop();
        // The PLC keeps counting while its OPC UA server restarts.
        sim.set('Line1.Counter', 42);
        await until(r, 'disconnected', () => r.states.some((s) => s.state === 'disconnected'));
        await sim.start();
        await until(r, 'reconnected', () => connectedCount(r) === 2);
        // What the PLC counted during the restart is read first (in poll mode "connected"
        // comes before the first read, so wait for it rather than race the next change).
        await until(r, 'count 42 after the restart', () => r.allValues('count').includes(42));
        await count(r, 43);
        const seen = [...new Set(r.allValues('count'))];
        expect(seen).toEqual([40, 42, 43]);
      } finally {
        await adapter.stop();
      }
    });
  }
});
