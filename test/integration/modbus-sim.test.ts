/**
 * The PLC simulator read through the real adapter: counts rise as the machine produces,
 * counters reset and wrap on demand, forced signals show, in every encoding the sim writes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import { ModbusClient } from '../../src/adapters/modbus/link.js';
import type { DeviceOf } from '../../src/config/schema.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { freePort } from '../../src/sim/free-port.js';
import { device } from '../helpers/modbus-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventually } from '../helpers/wait.js';
import { lcg } from '../helpers/seeded-random.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const line = (port: number) =>
  device<DeviceOf<'modbus-tcp'>>({
    device: 'line1',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1', port },
    pollIntervalMs: 30,
    machines: [
      {
        code: 'CNC1',
        count: { area: 'holding', address: 0, type: 'uint32', wordOrder: 'little' },
        counterRollover: 10000,
        waste: [
          { code: 'Scrap', source: { area: 'holding', address: 2 } },
          { code: 'Rework', source: { area: 'input', address: 0, type: 'int32', byteSwap: true } },
        ],
        running: { area: 'holding', address: 3, type: 'bool', bit: 2 },
        stopReason: { source: { area: 'holding', address: 4 }, map: { 3: 'Setup', 4: 'Maintenance' }, default: 'Unplanned' },
        parameters: [
          { code: 'spindle', source: { area: 'input', address: 10, type: 'float32', scale: 0.1 } },
          { code: 'coolant', source: { area: 'coil', address: 7 } },
        ],
      },
      {
        code: 'CNC2',
        count: { area: 'holding', address: 100, type: 'uint16' },
        running: { area: 'discrete', address: 0 },
        downtimeType: 'Unplanned',
      },
    ],
  });

async function sim(opts: { tickMs: number; random?: () => number }) {
  const port = await freePort();
  const s = await startModbusPlcSim({ host: '127.0.0.1', port, device: line(port), ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function setup() {
  const plc = await sim({ tickMs: 0 });
  const sink = new RecordingSink();
  const adapter = createModbusAdapter(line(plc.port), adapterContext(sink));
  cleanups.push(() => adapter.stop());
  await adapter.start();
  await eventually(
    () => sink.batches.length > 0,
    (ok) => ok,
    20_000,
    'a first poll',
  );
  return { plc, sink };
}

/** Waits for a value that the sim has written to come through a poll. */
const seen = (sink: RecordingSink, machine: string, signal: string, value: unknown) =>
  eventually(
    () => sink.latest(machine, signal) === value,
    (ok) => ok,
    20_000,
    `${machine} ${signal} = ${String(value)}`,
  );

describe('Modbus PLC simulator', () => {
  it('counts rise by exactly what the machine produced', async () => {
    const { plc, sink } = await setup();
    const start = sink.latest('CNC1', 'count') as number;
    const start2 = sink.latest('CNC2', 'count') as number;
    plc.set('CNC1', 'running', true); // no random stop during the test
    plc.set('CNC2', 'running', true);
    for (let i = 0; i < 20; i++) plc.tick();
    const made = plc.produced('CNC1').count;
    expect(made).toBeGreaterThanOrEqual(15); // ~1 part per 1 s step
    await seen(sink, 'CNC1', 'count', (start + made) % 10000);
    await seen(sink, 'CNC2', 'count', (start2 + plc.produced('CNC2').count) % 65536);
    expect(sink.latest('CNC1', 'running')).toBe(true);
    expect(sink.latest('CNC2', 'running')).toBe(true);
    expect(sink.errors).toEqual([]);
  });

  it('writes every signal the adapter reads, in its encoding', async () => {
    const { plc, sink } = await setup();
    plc.set('CNC1', 'waste:Scrap', 12);
    plc.set('CNC1', 'waste:Rework', 70000);
    plc.set('CNC1', 'running', false);
    plc.set('CNC1', 'stopReason', 4);
    plc.set('CNC1', 'param:spindle', 1234.5);
    plc.set('CNC1', 'param:coolant', true);
    // A poll may straddle the changes (holding is read before input): wait for each value.
    await seen(sink, 'CNC1', 'waste:Rework', 70000);
    await seen(sink, 'CNC1', 'waste:Scrap', 12);
    await seen(sink, 'CNC1', 'running', false);
    await seen(sink, 'CNC1', 'stopReason', 4);
    await seen(sink, 'CNC1', 'param:coolant', true);
    expect(sink.latest('CNC1', 'param:spindle')).toBeCloseTo(1234.5, 3);
  });

  it('resets, and wraps at the machine counterRollover', async () => {
    const { plc, sink } = await setup();
    plc.set('CNC1', 'running', true);
    plc.wrapCounter('CNC1');
    await seen(sink, 'CNC1', 'count', 9997);
    for (let i = 0; i < 10 && plc.produced('CNC1').count < 4; i++) plc.tick();
    const made = plc.produced('CNC1').count;
    expect(made).toBeGreaterThanOrEqual(4);
    await seen(sink, 'CNC1', 'count', (9997 + made) % 10000);
    plc.resetCounter('CNC1');
    await seen(sink, 'CNC1', 'count', 0);
    expect(sink.latest('CNC1', 'waste:Scrap')).toBe(0);
  });

  it('stops now and then for a few seconds, with a reason from the map, and adds waste', async () => {
    const random = lcg(7); // a seeded random source: the same run every time
    const plc = await sim({ tickMs: 0, random });
    const client = new ModbusClient();
    client.setTimeout(2000);
    await client.connectTCP('127.0.0.1', { port: plc.port });
    cleanups.push(() => new Promise((r) => client.close(r)));

    const stops: { ticks: number; reason: number }[] = [];
    let wasRunning = true;
    for (let i = 0; i < 600; i++) {
      plc.tick(); // one second of production
      const [flags, reason] = (await client.readHoldingRegisters(3, 2)).data;
      const running = (flags & 0b100) !== 0;
      if (running) expect(reason).toBe(0);
      else if (wasRunning) stops.push({ ticks: 1, reason });
      else {
        stops[stops.length - 1].ticks++;
        expect(reason).toBe(stops[stops.length - 1].reason);
      }
      wasRunning = running;
    }
    expect(stops.length).toBeGreaterThanOrEqual(3);
    for (const stop of stops.slice(0, -1)) expect(stop.ticks >= 3 && stop.ticks <= 8).toBe(true);
    expect(stops.every((x) => x.reason === 3 || x.reason === 4)).toBe(true);
    const { waste } = plc.produced('CNC1');
    expect(waste.Scrap + waste.Rework).toBeGreaterThan(0);
  });

  it('runs on its own as a demo: counts rise while nobody calls tick()', async () => {
    const plc = await sim({ tickMs: 50 });
    const sink = new RecordingSink();
    const adapter = createModbusAdapter(line(plc.port), adapterContext(sink));
    cleanups.push(() => adapter.stop());
    await adapter.start();
    await eventually(
      () => sink.batches.length > 0,
      (ok) => ok,
      20_000,
      'a first poll',
    );
    const first = sink.latest('CNC2', 'count') as number;
    plc.set('CNC2', 'running', true);
    await eventually(
      () => (sink.latest('CNC2', 'count') as number) > first + 2,
      (ok) => ok,
      20_000,
      'CNC2 to count',
    );
  });
});
