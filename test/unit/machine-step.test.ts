import { describe, expect, it } from 'vitest';
import type { Reading } from '../../src/core/values.js';
import { deviceSchema, type MachineConfig } from '../../src/config/schema.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { checkReadings, machineRules, SEEN_PERSIST_MS, stepMachine, tickMachine, type MachineSnapshot, type TimedValue } from '../../src/machine/step.js';
import type { CounterState, MachineOperation, MachineStore, StoredMachine } from '../../src/machine/store.js';

const count = { area: 'holding', address: 0, type: 'uint16' } as const;

function config(change: Record<string, unknown> = {}): MachineConfig {
  return deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: [
      {
        code: 'M1',
        count,
        waste: [{ code: 'W1', source: { area: 'holding', address: 1 } }],
        running: { area: 'coil', address: 0 },
        stopReason: { area: 'holding', address: 3, map: { '2': 'Setup' } },
        downtimeType: 'Maintenance',
        parameters: [{ code: 'temp', source: { area: 'input', address: 0 }, deadband: 1 }],
        ...change,
      },
    ],
  }).machines[0];
}

const rules = machineRules(config());
const countSource = JSON.stringify(config().count);

/** A stored counter read at `seenAt` with a known rate of 5 parts/s. */
const stored = (lastRaw: number, total: number, seenAt = 0, extra: Partial<CounterState> = {}): CounterState => ({
  lastRaw,
  total,
  seenAt,
  changedAt: seenAt,
  rate: 5,
  source: countSource,
  ...extra,
});

function snapshot(s: Partial<StoredMachine> = {}, values: Record<string, TimedValue> = {}): MachineSnapshot {
  return { counters: {}, parameters: {}, ...s, values };
}

/** What the Modbus adapter gives a reading of a uint16 register. */
const u16 = { rollover: 2 ** 16 };

const reading = (signal: string, value: Reading['value'], at: number, extra: Partial<Reading> = {}): Reading => ({
  machine: 'M1',
  signal,
  value,
  at,
  ...extra,
});

/** checkReadings then stepMachine, as the processor runs them. */
function step(snap: MachineSnapshot, readings: Reading[], now = readings.at(-1)?.at ?? 0, r = rules) {
  const checked = checkReadings(snap.values, readings, r);
  return { ...checked, ...stepMachine({ ...snap, values: checked.values }, checked.good, r, now) };
}

const ops = (kind: MachineOperation['kind'], list: MachineOperation[]) => list.filter((o) => o.kind === kind);

describe('the machine step (pure: no SQLite, no clock, no logger)', () => {
  it('a counter seen for the first time starts at its raw value (or 0) and queues nothing to send', () => {
    const r = step(snapshot(), [reading('count', 500, 1000)]);
    expect(r.operations).toEqual([{ kind: 'counter.insert', machine: 'M1', signal: 'count', lastRaw: 500, total: 500, source: countSource, at: 1000 }]);
    expect(r.events).toEqual([
      { machine: 'M1', message: 'counter first seen', fields: { event: 'counter.first_seen', signal: 'count', raw: 500, total: 500 } },
    ]);
    const zero = step(snapshot(), [reading('count', 500, 1000)], 1000, machineRules(config({ initialCount: 'zero' })));
    expect(zero.operations[0]).toMatchObject({ kind: 'counter.insert', lastRaw: 500, total: 0 });
  });

  it('a rise adds to the total; several reads of one counter in a batch go one after the other', () => {
    const r = step(snapshot({ counters: { count: stored(100, 100) } }), [reading('count', 105, 1000), reading('count', 112, 2000)]);
    expect(ops('counter.guard', r.operations).map((o) => o.kind === 'counter.guard' && [o.state.lastRaw, o.state.total])).toEqual([
      [105, 105],
      [112, 112],
    ]);
    expect(r.events).toEqual([]);
  });

  it('a wrap of a uint16 counter adds the parts across 65536, a fall that is no wrap is held', () => {
    const wrap = step(snapshot({ counters: { count: stored(65530, 70000) } }), [reading('count', 3, 1000, u16)]);
    expect(wrap.operations[0]).toMatchObject({ kind: 'counter.guard', state: { lastRaw: 3, total: 70009 } });
    expect(wrap.events[0]).toMatchObject({ message: 'counter wrap', fields: { event: 'counter.wrap', previousRaw: 65530, raw: 3, added: 9, total: 70009 } });
    const fall = step(snapshot({ counters: { count: stored(30000, 70000) } }), [reading('count', 3, 1000, u16)]);
    expect(fall.operations[0]).toMatchObject({ kind: 'counter.guard', state: { lastRaw: 30000, total: 70000, held: { kind: 'fall', raw: 3 } } });
    expect(fall.events[0]).toMatchObject({ fields: { event: 'counter.held', added: 0, held: 3 } });
  });

  it('a counter wraps where its reading says (OPC UA UInt16, MQTT default), unless counterRollover says otherwise; without one a fall is no wrap', () => {
    const snap = snapshot({ counters: { count: stored(65530, 70000) } });
    // An OPC UA UInt16 node: 65530 → 3 is 9 parts across the wrap, not a reset.
    expect(step(snap, [reading('count', 3, 1000, { rollover: 2 ** 16 })]).operations[0]).toMatchObject({ state: { total: 70009 } });
    // An MQTT counter (2^32 unless configured): near the top, then past it.
    const mqtt = snapshot({ counters: { count: stored(2 ** 32 - 2, 100) } });
    expect(step(mqtt, [reading('count', 1, 1000, { rollover: 2 ** 32 })]).operations[0]).toMatchObject({ state: { total: 103 } });
    expect(step(mqtt, [reading('count', 2 ** 32, 1000, { rollover: 2 ** 32 })]).bad[0].message).toBe(
      "count 4294967296 is beyond the counter's range (0 to 4294967295)",
    );
    // No rollover (a float or 64-bit source): the fall is held as a possible reset.
    expect(step(snap, [reading('count', 3, 1000)]).operations[0]).toMatchObject({ state: { total: 70000, held: { kind: 'fall' } } });
    // A counter module that wraps at 10000, whatever the register type.
    const module = machineRules(config({ counterRollover: 10_000 }));
    const at9990 = snapshot({ counters: { count: stored(9990, 9990) } });
    expect(step(at9990, [reading('count', 5, 1000, u16)], 1000, module).operations[0]).toMatchObject({ state: { total: 10005 } });
    expect(step(at9990, [reading('count', 10_000, 1000, u16)], 1000, module).bad[0].message).toBe("count 10000 is beyond the counter's range (0 to 9999)");
  });

  it('an unchanged read is written only once SEEN_PERSIST_MS passed since the stored one', () => {
    const snap = snapshot({ counters: { count: stored(100, 100, 0) } });
    expect(step(snap, [reading('count', 100, SEEN_PERSIST_MS - 1)]).operations).toEqual([]);
    expect(step(snap, [reading('count', 100, SEEN_PERSIST_MS)]).operations).toEqual([
      { kind: 'counter.seen', machine: 'M1', signal: 'count', at: SEEN_PERSIST_MS },
    ]);
    // The seen time moves on within the batch: the next unchanged read is not written again.
    const twice = step(snap, [reading('count', 100, SEEN_PERSIST_MS), reading('count', 100, SEEN_PERSIST_MS + 5000)]);
    expect(ops('counter.seen', twice.operations)).toHaveLength(1);
  });

  it('a counter read from another source starts a new baseline: the total stays, nothing is invented', () => {
    const moved = snapshot({ counters: { count: stored(12, 12, 0, { source: JSON.stringify({ ...count, address: 9 }) }) } });
    const r = step(moved, [reading('count', 48_000, 1000), reading('count', 48_005, 2000)]);
    expect(r.operations[0]).toEqual({ kind: 'counter.rebaseline', machine: 'M1', signal: 'count', raw: 48_000, source: countSource, at: 1000 });
    expect(r.events[0]).toMatchObject({ fields: { event: 'counter.source_changed', raw: 48_000, total: 12 } });
    // Counting goes on from the new baseline, with the old source's rate forgotten.
    expect(r.operations[1]).toMatchObject({ kind: 'counter.guard', state: { lastRaw: 48_005, total: 17 } });
    // State written before the source was kept: a new baseline, said nowhere.
    const legacy = step(snapshot({ counters: { count: stored(12, 12, 0, { source: undefined }) } }), [reading('count', 40, 1000)]);
    expect(legacy.operations[0]).toMatchObject({ kind: 'counter.rebaseline', raw: 40 });
    expect(legacy.events).toEqual([]);
  });

  it('a redelivered value below the last one taken is a replay: nothing added; a redelivered rise counts', () => {
    const snap = snapshot({ counters: { count: stored(4030, 4030) } });
    const replay = step(snap, [reading('count', 4010, 1000, { redelivered: true })]);
    expect(replay.operations).toEqual([]);
    expect(replay.events).toEqual([
      { machine: 'M1', message: 'counter replay ignored', fields: { event: 'counter.replay', signal: 'count', raw: 4010, lastRaw: 4030 } },
    ]);
    expect(step(snap, [reading('count', 4040, 1000, { redelivered: true })]).operations[0]).toMatchObject({ state: { total: 4040 } });
  });

  it('a count of -5, 112.5, beyond its range or not a number is a bad value: shown, never stepped; scale noise is rounded', () => {
    const snap = snapshot({ counters: { count: stored(100, 100) } }, { count: { value: 100, at: 0 } });
    const r = step(
      snap,
      [-5, 112.5, 65536, Number.NaN, 'x'].map((v, i) => reading('count', v, 1000 * (i + 1), u16)),
    );
    expect(r.bad.map((b) => b.message)).toEqual([
      'count is negative: -5',
      'count is not a whole number: 112.5',
      "count 65536 is beyond the counter's range (0 to 65535)",
      'count is not a number: NaN',
      'count is not a number: x',
    ]);
    expect(r.bad[0]).toEqual({ machine: 'M1', signal: 'count', message: 'count is negative: -5', at: 1000 });
    // Nothing reached any state, not even run/stop, and the shown value is the last good one.
    expect(r.operations).toEqual([]);
    expect(r.values.count).toEqual({ value: 100, at: 0 });
    const noisy = step(snap, [reading('count', 112.00000000000001, 1000)]);
    expect(noisy.bad).toEqual([]);
    expect(noisy.values.count.value).toBe(112);
    expect(noisy.operations[0]).toMatchObject({ state: { lastRaw: 112 } });
  });

  it('a parameter change within its deadband is no change; beyond it is stored and queued', () => {
    const snap = snapshot({ parameters: { temp: 20 } });
    expect(step(snap, [reading('param:temp', 20.5, 1000)]).operations).toEqual([]);
    const r = step(snap, [reading('param:temp', 21, 1000, { at: 900 }), reading('param:temp', 21.5, 1000)], 1100);
    // The second read compares with the first one queued, not with the stored 20.
    expect(r.operations).toEqual([{ kind: 'parameter', machine: 'M1', code: 'temp', value: 21, at: 1100 }]);
    expect(step(snapshot(), [reading('param:temp', 'on', 5)]).operations).toEqual([{ kind: 'parameter', machine: 'M1', code: 'temp', value: 'on', at: 5 }]);
  });

  it('a stop is a run/stop state and a transition with the mapped reason, told as an event', () => {
    const running = { reported: { running: true, since: 0 } };
    // The stop reason came in an earlier batch (a subscription sends it apart from the flag).
    const snap = snapshot({ runState: running }, { stopReason: { value: 2, at: 500 } });
    // The batch's time (when it was taken in) is the time of the transition.
    const r = step(snap, [reading('running', false, 900)], 1000);
    expect(ops('runState', r.operations)).toMatchObject([
      { kind: 'runState', machine: 'M1', state: { reported: { running: false, type: 'Setup', since: 1000 } } },
    ]);
    expect(ops('startStop', r.operations)).toEqual([{ kind: 'startStop', machine: 'M1', transition: { running: 0, type: 'Setup', at: 1000 }, at: 1000 }]);
    expect(r.events).toEqual([{ machine: 'M1', message: 'machine stopped', fields: { event: 'machine.stopped', type: 'Setup', at: 1000 } }]);
    // Still running: the state is as stored, nothing to write.
    expect(step(snapshot({ runState: running }), [reading('running', true, 1000)]).operations).toEqual([]);
  });

  it('an idle counter means stopped on a tick while the device is live, and nothing while it is gone', () => {
    const idle = machineRules(config({ stopWhenIdleSeconds: 10 }));
    const snap = snapshot({ runState: { reported: { running: true, since: 0 }, lastCountMoveAt: 1000 } }, { running: { value: true, at: 1000 } });
    expect(tickMachine(snap, idle, 30_000, false).operations).toEqual([]);
    const live = tickMachine(snap, idle, 31_000, true);
    expect(ops('startStop', live.operations)).toEqual([
      { kind: 'startStop', machine: 'M1', transition: { running: 0, type: 'Maintenance', at: 31_000 }, at: 31_000 },
    ]);
    // A count that moved in the batch is no idle machine.
    const moving = step({ ...snap, counters: { count: stored(10, 10, 29_000) } }, [reading('count', 11, 30_000)], 30_000, idle);
    expect(ops('startStop', moving.operations)).toEqual([]);
    expect(ops('runState', moving.operations)).toMatchObject([{ state: { lastCountMoveAt: 30_000 } }]);
  });

  it('a waste code the machine does not have changes nothing', () => {
    const noRunStop = machineRules(config({ running: undefined, stopReason: undefined, downtimeType: undefined }));
    expect(step(snapshot(), [reading('waste:W9', 5, 1000)], 1000, noRunStop).operations).toEqual([]);
  });
});

/** A store whose writes succeed or fail as told; it keeps nothing (the step's decisions are what is looked at). */
function store(fail: boolean): MachineStore & { written: MachineOperation[] } {
  const written: MachineOperation[] = [];
  return {
    written,
    update(machines, decide) {
      const ops = decide(new Map(machines.map((m) => [m, { counters: {}, parameters: {}, runState: { reported: { running: true, since: 0 } } }])));
      if (fail) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      written.push(...ops);
    },
    runState: () => undefined,
  };
}

describe('the processor tells events only once their batch is stored', () => {
  const run = (fail: boolean) => {
    const told: string[] = [];
    const s = store(fail);
    const p = new MachineProcessor(s, { event: (_m, message) => told.push(message) });
    p.setMachines([{ device: 'plc', config: config() }]);
    const apply = () => p.apply([reading('count', 100, 1000), reading('running', false, 1000)], 1000);
    return { told, s, p, apply };
  };

  it('a batch whose write fails tells nothing; the values read still show', () => {
    const { told, p, apply } = run(true);
    expect(apply).toThrow(/disk is full/);
    expect(told).toEqual([]);
    expect(p.values('M1')).toMatchObject({ count: { value: 100 }, running: { value: false } });
  });

  it('a batch that is stored tells its events after the write, in order', () => {
    const { told, s, apply } = run(false);
    expect(apply()).toEqual([]);
    expect(s.written.map((o) => o.kind)).toEqual(['counter.insert', 'runState', 'startStop']);
    expect(told).toEqual(['counter first seen', 'machine stopped']);
  });
});
