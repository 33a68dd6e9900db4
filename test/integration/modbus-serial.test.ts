/**
 * Modbus RTU on a serial line, over real socat pty pairs with Debian's pymodbus as the
 * slave(s) on the far end: several device files on one path share the bus, a dead unit
 * does not starve a live one, and a port that vanishes is reopened when it is back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import type { DeviceAdapter } from '../../src/adapters/types.js';
import { device } from '../helpers/modbus-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventually } from '../helpers/wait.js';
import { startPymodbus, type Pymodbus } from '../helpers/modbus-pymodbus.js';
import { startPtyPair, type PtyPair } from '../helpers/modbus-socat.js';
import { ownedTempDir } from '../helpers/tmp.js';

let dir: ReturnType<typeof ownedTempDir>;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(() => {
  dir = ownedTempDir('modbus-rtu-');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  dir.remove();
});

async function line(units: number[]): Promise<{ pty: PtyPair; slave: Pymodbus }> {
  const pty = await startPtyPair(dir.path);
  cleanups.push(() => pty.kill());
  const slave = await startPymodbus({ serial: pty.b, units });
  cleanups.push(() => slave.kill());
  await slave.set('holding', 0, 1234);
  await slave.set('input', 0, 0x41bc, 0); // 23.5
  return { pty, slave };
}

function unit(path: string, unitId: number, sink: RecordingSink, timeoutMs = 300): DeviceAdapter {
  const a = createModbusAdapter(
    device({
      device: `unit${unitId}`,
      protocol: 'modbus-rtu',
      connection: { path, unitId, timeoutMs },
      pollIntervalMs: 10,
      machines: [
        {
          code: `M${unitId}`,
          count: { area: 'holding', address: 0 },
          parameters: [{ code: 'temp', source: { area: 'input', address: 0, type: 'float32' } }],
        },
      ],
    }),
    adapterContext(sink),
  );
  cleanups.push(() => a.stop());
  return a;
}

const states = (sink: RecordingSink) => sink.states.map((s) => s.state);

describe('modbus-rtu on a shared serial line', () => {
  it('serves two units on one port, one request at a time, without collisions', async () => {
    const { pty, slave } = await line([1, 2]);
    const s1 = new RecordingSink();
    const s2 = new RecordingSink();
    await unit(pty.a, 1, s1).start();
    await unit(pty.a, 2, s2).start();
    await eventually(
      () => s1.batches.length >= 30 && s2.batches.length >= 30,
      (ok) => ok,
      20_000,
      '30 polls of each unit',
    );

    // The probe of a third device file joins the same open port.
    const rows = await unit(pty.a, 1, new RecordingSink()).probe();
    expect(rows.map((r) => [r.signal, r.value, r.raw])).toEqual([
      ['count', 1234, '04d2'],
      ['param:temp', 23.5, '41bc 0000'],
    ]);

    // Interleaved frames would show up as timeouts or CRC errors, and so as errors or disconnects.
    for (const sink of [s1, s2]) {
      expect(sink.errors).toEqual([]);
      expect(states(sink)).toEqual(['connecting', 'connected']);
      expect(sink.latest(sink === s1 ? 'M1' : 'M2', 'count')).toBe(1234);
    }
    expect(new Set(slave.requests.map((r) => r.unit))).toEqual(new Set([1, 2]));
  });

  it('keeps reading the live unit while the other one never answers', async () => {
    const { pty, slave } = await line([1]);
    const live = new RecordingSink();
    const dead = new RecordingSink();
    await unit(pty.a, 2, dead, 500).start();
    await unit(pty.a, 1, live).start();
    await eventually(
      () => dead.state === 'disconnected',
      (ok) => ok,
      20_000,
      'the dead unit to be reported',
    );
    expect(dead.states[1].error).toMatch(/Timed out/);
    const before = live.batches.length;
    await eventually(
      () => live.batches.length >= before + 30,
      (ok) => ok,
      20_000,
      'the live unit to go on',
    );
    expect(live.errors).toEqual([]);
    expect(states(live)).toEqual(['connecting', 'connected']);
    expect(slave.requests.every((r) => r.unit === 1)).toBe(true);
  });

  it('reopens the port after the adapter was pulled and plugged back', async () => {
    let { pty, slave } = await line([1]);
    const sink = new RecordingSink();
    await unit(pty.a, 1, sink).start();
    await eventually(
      () => sink.batches.length >= 5,
      (ok) => ok,
      20_000,
      'polls',
    );

    await pty.kill(); // both ends of the cable vanish
    await slave.kill();
    await eventually(
      () => sink.state === 'disconnected',
      (ok) => ok,
      20_000,
      'the loss to be reported',
    );
    const before = sink.batches.length;

    ({ pty, slave } = await line([1]));
    await eventually(
      () => sink.state === 'connected' && sink.batches.length >= before + 5,
      (ok) => ok,
      20_000,
      'polls on the reopened port',
    );
    expect(states(sink)).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
    expect(sink.latest('M1', 'count')).toBe(1234);
  });
});
