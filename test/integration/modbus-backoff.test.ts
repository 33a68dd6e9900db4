/**
 * The poll loop's schedule, on a fake clock against real sockets: capped exponential
 * backoff while the PLC is away, the poll interval while it answers, nothing after stop().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import { BACKOFF } from '../../src/core/backoff.js';
import { freePort } from '../../src/sim/free-port.js';
import { ManualClock } from '../helpers/clocks.js';
import { device } from '../helpers/modbus-harness.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { eventually } from '../helpers/wait.js';
import { startPymodbus, type Pymodbus } from '../helpers/modbus-pymodbus.js';

let server: Pymodbus | undefined;
afterEach(async () => {
  await server?.kill();
  server = undefined;
});

describe('modbus poll schedule', () => {
  it('backs off 1 s → 30 s while the PLC is away, polls at the interval once it answers', async () => {
    const port = await freePort();
    const clock = new ManualClock(1_000_000);
    const sink = new RecordingSink();
    const adapter = createModbusAdapter(
      device({
        device: 'plc',
        protocol: 'modbus-tcp',
        connection: { host: '127.0.0.1', port, timeoutMs: 2000 },
        pollIntervalMs: 500,
        machines: [{ code: 'M1', count: { area: 'holding', address: 0 } }],
      }),
      adapterContext(sink, { clock }),
    );
    const nextTimer = async () => {
      await eventually(
        () => clock.pending().length === 1,
        (ok) => ok,
        20_000,
        'the adapter to schedule its next step',
      );
      return clock.pending()[0];
    };

    await adapter.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      delays.push(await nextTimer());
      clock.advance(delays[i]);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, BACKOFF.modbus.maxMs, BACKOFF.modbus.maxMs]);
    expect(sink.states.map((s) => s.state)).toEqual(['connecting', 'disconnected']);
    expect(sink.states[1].error).toMatch(/ECONNREFUSED/);

    server = await startPymodbus({ port });
    await server.set('holding', 0, 42);
    // The pending retry (30 s) connects; from then on the poll interval applies.
    clock.advance(await nextTimer());
    await eventually(
      () => sink.batches.length === 1,
      (ok) => ok,
      20_000,
      'a reading',
    );
    expect(await nextTimer()).toBe(500);
    expect(sink.state).toBe('connected');
    expect(sink.latest('M1', 'count')).toBe(42);

    await server.kill();
    server = undefined;
    clock.advance(500);
    await eventually(
      () => sink.state === 'disconnected',
      (ok) => ok,
      20_000,
      'the loss to be seen',
    );
    expect(await nextTimer()).toBe(1000); // backoff starts over after a good spell

    await adapter.stop();
    expect(clock.pending()).toEqual([]);
  });
});
