/**
 * The Modbus adapter against a real, strict peer: Debian's pymodbus, over Modbus TCP and
 * RTU over TCP. Reads of every area and several types, batching (counted at the slave),
 * the exception-2 fallback, a PLC that dies and comes back, and a dead PLC beside a live one.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { freePort } from '../../src/sim/free-port.js';
import { device } from '../helpers/modbus-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventually } from '../helpers/wait.js';
import { startPymodbus, type Pymodbus, type RequestLog } from '../helpers/modbus-pymodbus.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function slave(opts: Parameters<typeof startPymodbus>[0] = {}): Promise<Pymodbus> {
  const s = await startPymodbus(opts);
  cleanups.push(() => s.kill());
  return s;
}

function adapter(config: Record<string, unknown>, sink: RecordingSink): DeviceAdapter {
  const a = createModbusAdapter(device(config), adapterContext(sink));
  cleanups.push(() => a.stop());
  return a;
}

const press = (protocol: string, port: number) => ({
  device: 'press',
  protocol,
  connection: { host: '127.0.0.1', port, timeoutMs: 2000 },
  pollIntervalMs: 50,
  machines: [
    {
      code: 'PRESS01',
      count: { area: 'holding', address: 0, type: 'uint32' },
      waste: [{ code: 'Waste1', source: { area: 'holding', address: 2 } }],
      running: { area: 'coil', address: 0 },
      stopReason: { source: { area: 'holding', address: 10 }, map: { 1: 'Maintenance' }, default: 'Unplanned' },
      parameters: [
        { code: 'temp', source: { area: 'input', address: 0, type: 'float32', wordOrder: 'little' } },
        { code: 'pressure', source: { area: 'input', address: 2, type: 'int16', scale: 0.1 } },
        { code: 'door', source: { area: 'discrete', address: 3 } },
        { code: 'alarm', source: { area: 'holding', address: 11, type: 'bool', bit: 4 } },
        { code: 'energy', source: { area: 'holding', address: 20, type: 'uint64' } },
        { code: 'speed', source: { area: 'holding', address: 30, type: 'float64', byteSwap: true } },
      ],
    },
  ],
});

async function loadPress(s: Pymodbus) {
  await s.set('holding', 0, 0x0001, 0x86a0); // 100000
  await s.set('holding', 2, 7);
  await s.set('holding', 10, 1, 0x0010);
  await s.set('holding', 20, 0, 0x0100, 0, 5); // 2^40 + 5
  await s.set('holding', 30, 0x0440, 0, 0, 0); // 2.5, bytes swapped
  await s.set('input', 0, 0x0000, 0x41bc); // 23.5, low word first
  await s.set('input', 2, 0xff85); // -123 → -12.3
  await s.set('coil', 0, 1);
  await s.set('discrete', 3, 1);
}

const PRESS_VALUES = {
  count: 100000,
  'waste:Waste1': 7,
  running: true,
  stopReason: 1,
  'param:temp': 23.5,
  'param:door': true,
  'param:alarm': true,
  'param:energy': 2 ** 40 + 5,
  'param:speed': 2.5,
};

/** One poll of the press: one request per area (holding 0..33 spans gaps of ≤ 8). */
const PRESS_REQUESTS = ['holding 0 34', 'input 0 3', 'coil 0 1', 'discrete 3 1'];
const asText = (reqs: RequestLog[]) => reqs.map((r) => `${r.area} ${r.address} ${r.count}`);

describe('modbus adapter against pymodbus', () => {
  for (const [protocol, framer] of [
    ['modbus-tcp', 'socket'],
    ['modbus-rtu-over-tcp', 'rtu'],
  ] as const) {
    it(`${protocol}: reads every area and type in ${PRESS_REQUESTS.length} requests per poll`, async () => {
      const s = await slave({ framer });
      await loadPress(s);
      const sink = new RecordingSink();
      const a = adapter(press(protocol, s.port), sink);
      await a.start();
      await eventually(
        () => sink.batches.length >= 3,
        (ok) => ok,
        20_000,
        'three polls',
      );
      await a.stop();

      const batch = sink.batches[0];
      expect(Object.fromEntries(batch.map((r) => [r.signal, r.value]))).toMatchObject(PRESS_VALUES);
      expect(batch.find((r) => r.signal === 'param:pressure')?.value).toBeCloseTo(-12.3);
      expect(batch).toHaveLength(10);
      expect(batch.find((r) => r.signal === 'count')?.raw).toEqual([0x0001, 0x86a0]);
      expect(sink.errors).toEqual([]);
      expect(sink.states.map((x) => x.state)).toEqual(['connecting', 'connected']);
      await eventually(
        () => s.requests.length >= 12,
        (ok) => ok,
        20_000,
        'the request log',
      );
      expect(asText(s.requests.slice(0, 12))).toEqual([...PRESS_REQUESTS, ...PRESS_REQUESTS, ...PRESS_REQUESTS]);
    });
  }

  it('probe prints one row per signal with source, raw words and value', async () => {
    const s = await slave();
    await loadPress(s);
    const rows = await adapter(press('modbus-tcp', s.port), new RecordingSink()).probe();
    expect(rows).toHaveLength(10);
    expect(rows[0]).toEqual({ machine: 'PRESS01', signal: 'count', source: 'holding 0 uint32', raw: '0001 86a0', value: 100000, rollover: 2 ** 32 });
    expect(rows.find((r) => r.signal === 'param:temp')).toMatchObject({ source: 'input 0 float32 little', raw: '0000 41bc', value: 23.5 });
    expect(rows.find((r) => r.signal === 'running')).toMatchObject({ source: 'coil 0 bool', raw: '1', value: true });
    expect(rows.every((r) => r.error === undefined)).toBe(true);
    await eventually(
      () => s.requests.length >= PRESS_REQUESTS.length,
      (ok) => ok,
      20_000,
      'the request log',
    ); // it comes over a pipe
    expect(asText(s.requests)).toEqual(PRESS_REQUESTS);
  });

  it('probe of an unreachable PLC gives every row the connection error', async () => {
    const port = await freePort();
    const rows = await adapter(press('modbus-tcp', port), new RecordingSink()).probe();
    expect(rows).toHaveLength(10);
    for (const r of rows) expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('falls back to one request per signal when a block hits an illegal address', async () => {
    const s = await slave({ holes: ['holding:5'] });
    await s.set('holding', 0, 11, 0, 0, 33, 0, 0, 0, 1);
    const sink = new RecordingSink();
    const a = adapter(
      {
        device: 'holey',
        protocol: 'modbus-tcp',
        connection: { host: '127.0.0.1', port: s.port },
        pollIntervalMs: 50,
        machines: [
          {
            code: 'M',
            count: { area: 'holding', address: 0 },
            parameters: [
              { code: 'a', source: { area: 'holding', address: 3 } },
              { code: 'missing', source: { area: 'holding', address: 5 } },
              { code: 'b', source: { area: 'holding', address: 6, type: 'uint32' } },
            ],
          },
        ],
      },
      sink,
    );
    await a.start();
    await eventually(
      () => sink.batches.length >= 2,
      (ok) => ok,
      20_000,
      'two polls',
    );
    await a.stop();

    expect(sink.batches[0].map((r) => [r.signal, r.value])).toEqual([
      ['count', 11],
      ['param:a', 33],
      ['param:b', 1],
    ]);
    expect(sink.errors[0]).toMatchObject({ machine: 'M', signal: 'param:missing', message: expect.stringMatching(/exception 2/) });
    expect(sink.state).toBe('connected');
    const single = ['holding 0 1', 'holding 3 1', 'holding 5 1', 'holding 6 2'];
    await eventually(
      () => s.requests.length >= 9,
      (ok) => ok,
      20_000,
      'the request log',
    );
    // The block fails once; from then on its signals are read one by one.
    expect(asText(s.requests.slice(0, 9))).toEqual(['holding 0 8', ...single, ...single]);
    expect(s.requests.slice(1, 5).map((r) => r.ok)).toEqual([true, true, false, true]);
  });

  it('reports a dead PLC as disconnected and reconnects when it comes back', async () => {
    const port = await freePort();
    const sink = new RecordingSink();
    const a = adapter(press('modbus-tcp', port), sink);
    await a.start();
    await eventually(
      () => sink.state === 'disconnected',
      (ok) => ok,
      20_000,
      'connection refused',
    );
    expect(sink.states.at(-1)?.error).toMatch(/ECONNREFUSED/);

    let s = await startPymodbus({ port });
    await loadPress(s);
    await eventually(
      () => sink.state === 'connected' && sink.batches.length > 0,
      (ok) => ok,
      20_000,
      'first connection',
    );

    await s.kill();
    await eventually(
      () => sink.state === 'disconnected',
      (ok) => ok,
      20_000,
      'the loss to be reported',
    );
    const before = sink.batches.length;

    s = await startPymodbus({ port });
    cleanups.push(() => s.kill());
    await loadPress(s);
    await eventually(
      () => sink.state === 'connected' && sink.batches.length > before + 2,
      (ok) => ok,
      20_000,
      'reconnection',
    );
    // The loss may be reported twice ("not connected", then ECONNREFUSED while the PLC is down).
    expect(sink.stateChanges()).toEqual(['connecting', 'disconnected', 'connected', 'disconnected', 'connected']);
    expect(sink.latest('PRESS01', 'count')).toBe(100000);
  });

  it('a PLC that never answers does not stall another device', async () => {
    // Accepts connections and swallows every request: each read waits for its full timeout.
    const silent = net.createServer((sock) => sock.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => silent.close(r)));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const s = await slave();
    await loadPress(s);

    const deadSink = new RecordingSink();
    const liveSink = new RecordingSink();
    const dead = adapter(
      { ...press('modbus-tcp', silentPort), device: 'dead', connection: { host: '127.0.0.1', port: silentPort, timeoutMs: 20_000 } },
      deadSink,
    );
    const live = adapter(press('modbus-tcp', s.port), liveSink);
    await dead.start();
    await live.start();
    await eventually(
      () => liveSink.batches.length >= 20,
      (ok) => ok,
      20_000,
      'twenty polls of the live device',
    );
    // Still inside the dead device's first 20 s read: it has not even failed yet.
    expect(deadSink.states.map((x) => x.state)).toEqual(['connecting']);
    expect(liveSink.errors).toEqual([]);
    await dead.stop(); // does not wait out the 20 s timeout
    await live.stop();
  });

  it('leaves no socket or timer behind after stop()', async () => {
    const s = await slave();
    await loadPress(s);
    const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const baseline = { sockets: count('TCPSocketWrap'), timers: count('Timeout') };
    const sink = new RecordingSink();
    const a = createModbusAdapter(device(press('modbus-tcp', s.port)), adapterContext(sink));
    await a.start();
    await eventually(
      () => sink.batches.length >= 3,
      (ok) => ok,
      20_000,
      'polls',
    );
    await a.stop();
    await eventually(
      () => count('TCPSocketWrap') === baseline.sockets && count('Timeout') <= baseline.timers,
      (ok) => ok,
      20_000,
      'resources released',
    );
    const polls = sink.batches.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.batches.length).toBe(polls);
  });
});
