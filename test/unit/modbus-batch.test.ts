import { describe, expect, it } from 'vitest';
import { PollBatch } from '../../src/adapters/modbus/batch.js';
import type { ModbusSignal } from '../../src/adapters/modbus/plan.js';
import { source } from '../helpers/modbus-harness.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const count: ModbusSignal = { machine: 'M1', key: 'count', kind: 'count', source: source({ area: 'holding', address: 10, type: 'uint32' }) };
const temp: ModbusSignal = { machine: 'M1', key: 'param:temp', kind: 'parameter', code: 'temp', source: source({ area: 'holding', address: 12 }) };

describe('PollBatch: one poll as the adapter hands it on', () => {
  it('gives each reading its own raw words out of the shared block answer, its rollover, and the time the poll ended', () => {
    const block = [0x0001, 0x86a0, 0x00e7];
    const batch = new PollBatch();
    batch.value(count, 100000, block, 0, 2);
    batch.value(temp, 231, block, 2, 3);
    const sink = new RecordingSink();
    batch.deliver(sink, 5000);
    const [c, t] = sink.batches[0];
    expect(c).toMatchObject({ machine: 'M1', signal: 'count', value: 100000, at: 5000, rollover: 2 ** 32 });
    expect(c.raw).toEqual([0x0001, 0x86a0]);
    expect(t).toMatchObject({ signal: 'param:temp', value: 231, at: 5000 });
    expect(t.raw).toEqual([0x00e7]);
    expect('rollover' in t).toBe(false);
  });

  it('tells bad values before the batch, and sends no empty batch', () => {
    const batch = new PollBatch();
    batch.error(temp, 'bad value NaN');
    const sink = new RecordingSink();
    batch.deliver(sink, 7000);
    expect(sink.errors).toEqual([{ machine: 'M1', signal: 'param:temp', message: 'bad value NaN' }]);
    expect(sink.batches).toEqual([]);
  });
});
