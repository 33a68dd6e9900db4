import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { deviceSchema, type DeviceConfig, type MachineConfig, type ModbusSource } from '../../src/config/schema.js';
import { isCounter, listSignals } from '../../src/adapters/signals.js';
import { typeRollover } from '../../src/adapters/modbus/decode.js';
import { rebaseCounter, setCounter } from '../../src/outbox/rebase.js';
import { Timeline } from '../../src/outbox/timeline.js';
import { RequestLog } from '../../src/outbox/request-log.js';
import { tempDir } from '../helpers/tmp.js';

const device = deviceSchema.parse({
  device: 'plc',
  protocol: 'modbus-tcp',
  connection: { host: '127.0.0.1' },
  machines: [
    {
      code: 'M1',
      count: { area: 'holding', address: 0, type: 'uint16' },
      waste: [{ code: 'W1', source: { area: 'holding', address: 1 } }],
      running: { area: 'coil', address: 0 },
      downtimeType: 'Maintenance',
      parameters: [{ code: 'temp', source: { area: 'input', address: 0 }, deadband: 1 }],
    },
  ],
});

function open(file: string, initialCount: 'raw' | 'zero' = 'raw', change: Partial<MachineConfig> = {}) {
  const db = openDatabase(file);
  const state = new MachineStateStore(db);
  const outbox = new Outbox(db);
  const processor = new MachineProcessor(new SqliteMachineStore(db, state, outbox));
  const machines = device.machines.map((m: MachineConfig) => ({ ...m, initialCount, ...change }) as MachineConfig);
  processor.setMachines(machines.map((config) => ({ device: 'plc', config })));
  // As the Modbus adapter reads them: a count or waste carries its register type's rollover.
  const rollover = new Map(
    listSignals({ ...device, machines } as DeviceConfig).flatMap((s) => (isCounter(s.kind) ? [[s.key, typeRollover(s.source as ModbusSource)] as const] : [])),
  );
  const read = (at: number, values: Record<string, number | boolean>) =>
    processor.apply(
      Object.entries(values).map(([signal, value]) => ({ machine: 'M1', signal, value, at, rollover: rollover.get(signal) })),
      at,
    );
  return { db, state, outbox, processor, read };
}

const pendingCount = (outbox: Outbox) => outbox.pendingCounters('M1').find((v) => v.signal === 'count')?.total;

/** 5 parts a second, read every second, up to 62039 (near the top of the uint16 range). */
const runUpTo62039 = (g: ReturnType<typeof open>) => {
  for (let i = 0; i <= 10; i++) g.read(i * 1000, { count: 61989 + 5 * i });
};

/** The PLC counter reset, then 5 parts: a reset adds 5 to 62039, a phantom wrap 3502. */
const resetAndCount5 = (g: ReturnType<typeof open>, at: number) => {
  g.read(at, { count: 0 });
  g.read(at + 1000, { count: 5 });
  expect(pendingCount(g.outbox)).toBe(62044);
};

describe('machine state and outbox on a real SQLite file', () => {
  const dir = tempDir();

  it('queues nothing for a first sight, then the guarded total', () => {
    const g = open(join(dir, 'a.db'));
    g.read(0, { count: 500, 'waste:W1': 3 });
    expect(g.outbox.lanes()).toEqual([]);
    g.read(1, { count: 510, 'waste:W1': 3 });
    expect(g.outbox.pendingCounters('M1')).toEqual([{ signal: 'count', total: 510 }]);
    g.read(2, { count: 520, 'waste:W1': 4 });
    expect(g.outbox.pendingCounters('M1')).toEqual([
      { signal: 'count', total: 520 },
      { signal: 'waste:W1', total: 4 },
    ]);
    g.db.close();
  });

  it('with initialCount: zero, count and waste start at 0 and only production since is sent', () => {
    const g = open(join(dir, 'z.db'), 'zero');
    g.read(0, { count: 500, 'waste:W1': 30 });
    g.read(1, { count: 507, 'waste:W1': 32 });
    expect(g.outbox.pendingCounters('M1')).toEqual([
      { signal: 'count', total: 7 },
      { signal: 'waste:W1', total: 2 },
    ]);
    g.db.close();
  });

  it('sees a reset that happened while the gateway was down', () => {
    const file = join(dir, 'b.db');
    let g = open(file);
    g.read(0, { count: 100 });
    g.read(1000, { count: 130 });
    g.db.close();
    // PLC restarted while we were down a minute: its counter started again and reached 20.
    // A wrap would mean 65 426 parts in that minute; the next read confirms the reset.
    g = open(file);
    g.read(61_000, { count: 20 });
    g.read(62_000, { count: 25 });
    expect(pendingCount(g.outbox)).toBe(155);
    g.db.close();
  });

  it('keeps the observed rate across a restart: a reset seen at start-up is no phantom wrap', () => {
    const file = join(dir, 'rate.db');
    let g = open(file);
    runUpTo62039(g);
    expect(g.state.counter('M1', 'count')?.rate).toBeCloseTo(5);
    g.db.close();
    g = open(file);
    expect(g.state.counter('M1', 'count')?.rate).toBeCloseTo(5);
    // Down 30 s; a wrap would be 3497 parts in that time (a wrap at 5 parts/s is ~150).
    resetAndCount5(g, 40_000);
    g.db.close();
  });

  it('an idle machine is still read: a reset after hours standing still is no phantom wrap', () => {
    const g = open(join(dir, 'idle.db'));
    runUpTo62039(g);
    // Two hours without a part, read every 5 s.
    for (let t = 15_000; t <= 7_200_000; t += 5000) g.read(t, { count: 62039 });
    resetAndCount5(g, 7_201_000);
    g.db.close();
  });

  it('a delivered counter is no longer pending, and a newer total is', () => {
    const g = open(join(dir, 'c.db'));
    g.read(0, { count: 1 });
    g.read(1, { count: 5 });
    const values = g.outbox.pendingCounters('M1');
    g.outbox.markAttempt('M1', values);
    g.read(2, { count: 8 }); // arrives while the request is in flight
    g.outbox.counterDelivered('M1', values, [], { count: 5 }, 3);
    expect(g.outbox.sentBefore('M1', 'count')).toEqual({ attempted: 5, delivered: 5 });
    expect(pendingCount(g.outbox)).toBe(8);
    g.db.close();
  });

  it('coalesces parameters to the newest value per code and applies the deadband', () => {
    const g = open(join(dir, 'd.db'));
    g.read(0, { 'param:temp': 20 });
    g.read(1, { 'param:temp': 20.5 }); // within deadband: not a change
    expect(g.outbox.pendingParameters('M1').map((p) => p.value)).toEqual([20]);
    g.read(2, { 'param:temp': 22 });
    g.read(3, { 'param:temp': 25 });
    const params = g.outbox.pendingParameters('M1');
    expect(params.map((p) => p.value)).toEqual([25]);
    expect(g.outbox.lanes()).toEqual([{ machine: 'M1', lane: 'parameters' }]);
    g.db.close();
  });

  it('a parameter replaced while in flight stays queued after the old one is acknowledged', () => {
    const g = open(join(dir, 'e.db'));
    g.read(0, { 'param:temp': 20 });
    const sent = g.outbox.pendingParameters('M1');
    g.read(1, { 'param:temp': 30 });
    g.outbox.parametersDelivered('M1', sent, {}, 2);
    expect(g.outbox.pendingParameters('M1').map((p) => p.value)).toEqual([30]);
    g.db.close();
  });

  it('sends run/stop transitions in order while online', () => {
    const g = open(join(dir, 'f.db'));
    g.read(0, { running: true });
    g.read(1000, { running: false });
    const first = g.outbox.nextStartStop('M1', 1001)!;
    expect(first).toMatchObject({ running: 0, type: 'Maintenance', at: 1000 });
    g.outbox.startStopDelivered('M1', first, 1002);
    g.read(2000, { running: true });
    expect(g.outbox.nextStartStop('M1', 2001)).toMatchObject({ running: 1, type: 'Maintenance', at: 2000 });
    g.db.close();
  });

  it('after an outage sends only the current state; the downtimes that began and ended offline stay in history', () => {
    const g = open(join(dir, 'g.db'));
    g.read(0, { running: true });
    g.read(1000, { running: false });
    g.outbox.startStopDelivered('M1', g.outbox.nextStartStop('M1', 1001)!, 1002);
    // Offline: it runs, stops, runs again. The MES last heard "stopped".
    g.read(2000, { running: true });
    g.read(3000, { running: false });
    g.read(4000, { running: true });
    const next = g.outbox.nextStartStop('M1', 5000);
    expect(next).toMatchObject({ running: 1, at: 4000 });
    g.outbox.startStopDelivered('M1', next!, 5001);
    expect(g.outbox.nextStartStop('M1', 5002)).toBeUndefined();
    const collapsed = g.db.prepare(`SELECT COUNT(*) AS n FROM history WHERE outcome = 'collapsed'`).get() as { n: number };
    expect(collapsed.n).toBe(2);
  });

  it('an uncertain transition comes back first, marked, with newer ones behind it; found missing, collapse applies', () => {
    const g = open(join(dir, 'u.db'));
    g.read(0, { running: true });
    g.read(1000, { running: false });
    const stop = g.outbox.nextStartStop('M1', 1001)!;
    g.outbox.markStartStopAttempt(stop.id, 1001);
    g.read(2000, { running: true });
    g.read(3000, { running: false });
    // Not collapsed while it is unresolved: it must be checked before anything newer goes.
    expect(g.outbox.nextStartStop('M1', 3001)).toMatchObject({ running: 0, at: 1000, attemptedAt: 1001 });
    g.outbox.startStopNotSent(stop, 'not in the MES');
    // The MES never got it: of the three queued, only the newest stop is sent.
    const next = g.outbox.nextStartStop('M1', 3002)!;
    expect(next).toMatchObject({ running: 0, at: 3000 });
    expect(next.attemptedAt).toBeUndefined();
    g.outbox.startStopVerified('M1', next, 3003);
    expect(g.outbox.nextStartStop('M1', 3004)).toBeUndefined();
    const outcomes = g.db.prepare(`SELECT outcome FROM history WHERE kind = 'startstop' ORDER BY id`).all() as { outcome: string }[];
    expect(outcomes.map((o) => o.outcome)).toEqual(['collapsed', 'collapsed', 'verified']);
    g.db.close();
  });

  it('sends nothing after an outage when the machine ended in the state the MES already has', () => {
    const g = open(join(dir, 'h.db'));
    g.read(0, { running: false });
    g.outbox.startStopDelivered('M1', g.outbox.nextStartStop('M1', 1)!, 2);
    g.read(1000, { running: true });
    g.read(2000, { running: false });
    expect(g.outbox.nextStartStop('M1', 3000)).toBeUndefined();
    expect(g.outbox.lanes()).toEqual([]);
    g.db.close();
  });

  it('a dead-lettered counter is not resent until the total moves on, and retry queues it again', () => {
    const g = open(join(dir, 'i.db'));
    g.read(0, { count: 1 });
    g.read(1, { count: 2 });
    const values = g.outbox.pendingCounters('M1');
    const before = new Map([['count', g.outbox.sentBefore('M1', 'count')]]);
    g.outbox.markAttempt('M1', values);
    const id = g.outbox.counterDead('M1', values, before, { count: 2 }, 400, 'machine M1 not found', 2);
    // Refused for certain: a later re-send of 2 is not mistaken for one the MES may have.
    expect(g.outbox.sentBefore('M1', 'count').attempted).toBe(0);
    expect(g.outbox.lanes()).toEqual([]);
    expect(g.outbox.deadLetters()).toMatchObject([{ id, machine: 'M1', status: 400, reason: 'machine M1 not found' }]);
    expect(g.outbox.retryDead(id, 3)).toBe(true);
    expect(pendingCount(g.outbox)).toBe(2);
    expect(g.outbox.deadLetters()).toEqual([]);
    g.db.close();
  });

  it('rebase lifts the totals above the MES and keeps what was not delivered yet', () => {
    const g = open(join(dir, 'j.db'));
    g.read(0, { count: 100 });
    g.read(1, { count: 130 });
    expect(rebaseCounter(g.db, 'M1', 'count', 5000, 2)).toEqual({ before: 130, after: 5030 });
    expect(pendingCount(g.outbox)).toBe(5030);
    g.read(3, { count: 131 });
    expect(pendingCount(g.outbox)).toBe(5031);
    g.db.close();
  });

  it('rebase --set puts the totals on the MES value, even downward, and counts on from the PLC value', () => {
    const g = open(join(dir, 'set.db'));
    g.read(0, { count: 100, 'waste:W1': 7 });
    g.read(1000, { count: 130, 'waste:W1': 9 });
    expect(setCounter(g.db, 'M1', 'count', 50, 2000)).toEqual({ before: 130, after: 50 });
    expect(setCounter(g.db, 'M1', 'waste:W1', 2, 2000)).toEqual({ before: 9, after: 2 });
    expect(setCounter(g.db, 'M1', 'waste:W404', 2, 2000)).toBeUndefined();
    expect(g.outbox.pendingCounters('M1')).toEqual([]);
    g.read(3000, { count: 131, 'waste:W1': 10 });
    expect(g.outbox.pendingCounters('M1')).toEqual([
      { signal: 'count', total: 51 },
      { signal: 'waste:W1', total: 3 },
    ]);
    g.db.close();
  });

  it('a counter moved to another register starts a new baseline instead of inventing production', () => {
    const file = join(dir, 'src.db');
    let g = open(file);
    g.read(0, { count: 10 });
    g.read(1, { count: 12 });
    g.db.close();
    // The technician maps the count to another register, which holds 48000.
    g = open(file, 'raw', { count: { area: 'holding', address: 40, type: 'uint16', wordOrder: 'big', byteSwap: false } });
    g.read(2, { count: 48_000 });
    expect(pendingCount(g.outbox)).toBe(12);
    // Another counter: the old one's rate says nothing about it.
    expect(g.state.counter('M1', 'count')?.rate).toBeUndefined();
    g.read(3, { count: 48_005 });
    expect(pendingCount(g.outbox)).toBe(17);
    g.db.close();
  });

  it('uses the last stop reason when a subscription sends it apart from the running flag', () => {
    const g = open(join(dir, 'sub.db'), 'raw', {
      stopReason: { source: { area: 'holding', address: 3, wordOrder: 'big', byteSwap: false }, map: { '2': 'Setup' }, default: 'Unplanned' },
    });
    g.read(0, { running: true });
    g.read(500, { stopReason: 2 });
    g.read(1000, { running: false });
    expect(g.outbox.nextStartStop('M1', 1001)).toMatchObject({ running: 0, type: 'Setup' });
    g.db.close();
  });

  it('infers a stop from an idle counter on timer ticks while the device is connected, not while it is gone', () => {
    const g = open(join(dir, 'idle.db'), 'raw', { stopWhenIdleSeconds: 10 });
    g.read(0, { running: true, count: 1 });
    g.read(1000, { count: 2 });
    g.processor.tick(30_000, () => false); // device disconnected: nothing is known
    expect(g.outbox.lanes()).toEqual([{ machine: 'M1', lane: 'counter' }]);
    g.processor.tick(31_000, () => true); // connected, still says running, but no part for 30 s
    expect(g.outbox.nextStartStop('M1', 31_001)).toMatchObject({ running: 0, type: 'Maintenance' });
    g.db.close();
  });

  it('a stop and its end while the MES was never reached yet are kept in history only', () => {
    const g = open(join(dir, 'first.db'));
    g.read(0, { running: false });
    g.read(1000, { running: true });
    expect(g.outbox.nextStartStop('M1', 2000)).toBeUndefined();
    expect(g.outbox.lanes()).toEqual([]);
    g.db.close();
  });

  it('after an outage a run is not re-sent to a MES that already has the machine running', () => {
    const g = open(join(dir, 'run.db'), 'raw', {
      stopReason: { source: { area: 'holding', address: 3, wordOrder: 'big', byteSwap: false }, map: { '1': 'Maintenance', '2': 'Setup' } },
    });
    g.read(0, { running: true });
    g.read(1000, { running: false, stopReason: 2 });
    g.outbox.startStopDelivered('M1', g.outbox.nextStartStop('M1', 1001)!, 1002);
    g.read(2000, { running: true });
    g.outbox.startStopDelivered('M1', g.outbox.nextStartStop('M1', 2001)!, 2002);
    // Offline: a maintenance stop that began and ended; the MES still has "running".
    g.read(3000, { running: false, stopReason: 1 });
    g.read(4000, { running: true });
    expect(g.outbox.nextStartStop('M1', 5000)).toBeUndefined();
    g.db.close();
  });

  it('keeps the production samples of the rate plot across a restart, for the plotted window only', () => {
    const file = join(dir, 'samples.db');
    let g = open(file);
    g.read(0, { count: 100 });
    new Timeline(g.db).sampleProduction(60_000, 0);
    g.read(61_000, { count: 160 });
    new Timeline(g.db).sampleProduction(120_000, 0);
    g.db.close();
    g = open(file);
    const timeline = new Timeline(g.db);
    expect(timeline.production('M1', 0)).toEqual([
      { at: 60_000, total: 100 },
      { at: 120_000, total: 160 },
    ]);
    timeline.sampleProduction(180_000, 100_000);
    expect(timeline.production('M1', 0).map((p) => p.at)).toEqual([120_000, 180_000]);
    g.db.close();
  });

  it('older values a broker resends (MQTT DUP) after newer ones are a replay: nothing added, and a later reset still counts', () => {
    const g = open(join(dir, 'replay.db'));
    const send = (at: number, count: number, redelivered = false) =>
      g.processor.apply([{ machine: 'M1', signal: 'count', value: count, at, ...(redelivered && { redelivered }) }], at);
    for (let i = 0; i <= 10; i++) send(i * 100, 4000 + 2 * i);
    // The broker restarted from its saved queue: 4010..4020 again, flagged as resends.
    for (let i = 5; i <= 10; i++) send(2000 + i, 4000 + 2 * i, true);
    for (let i = 11; i <= 15; i++) send(3000 + i * 100, 4000 + 2 * i);
    expect(g.state.counter('M1', 'count')).toMatchObject({ lastRaw: 4030, total: 4030 });
    // A reset whose first message came as a resend: skipped, but the fresh reads after it count it.
    send(5000, 0, true);
    for (let i = 1; i <= 4; i++) send(5000 + i * 100, 2 * i);
    expect(g.state.counter('M1', 'count')!.total).toBe(4038);
    g.db.close();
  });

  it('a count of -5, 112.5 or 1e20 is a bad value: returned with its reason, never a total', () => {
    const g = open(join(dir, 'bad.db'));
    g.read(0, { count: 100 });
    const bad = [-5, 112.5, 1e20, Number.NaN].flatMap((v, i) => g.read(1000 * (i + 1), { count: v }));
    expect(bad.map((b) => [b.signal, b.message])).toEqual([
      ['count', 'count is negative: -5'],
      ['count', 'count is not a whole number: 112.5'],
      ['count', "count 100000000000000000000 is beyond the counter's range (0 to 65535)"],
      ['count', 'count is not a number: NaN'],
    ]);
    expect(g.state.counter('M1', 'count')).toMatchObject({ lastRaw: 100, total: 100 });
    expect(g.processor.values('M1').count.value).toBe(100);
    // The next good value counts from the last good one: +20, not a reset adding 120.
    expect(g.read(5000, { count: 120 })).toEqual([]);
    expect(pendingCount(g.outbox)).toBe(120);
    g.db.close();
  });

  it('remembers a request by the time of its answer across a restart, for the rate budget', () => {
    const file = join(dir, 'requests.db');
    let db = openDatabase(file);
    const requests = new RequestLog(db);
    const slow = requests.record(1000);
    requests.record(2000);
    requests.answered(slow, 6000);
    requests.flush();
    db.close();
    db = openDatabase(file);
    expect(new RequestLog(db).recent(0)).toEqual([2000, 6000]);
    db.close();
  });

  it('never lowers a stored total', () => {
    const g = open(join(dir, 'k.db'));
    g.read(0, { count: 10 });
    expect(() => g.state.updateGuard('M1', 'count', { lastRaw: 0, total: 5, seenAt: 1, changedAt: 1 }, 1)).toThrow(
      expect.objectContaining({ code: 'SFG_STATE_TOTAL_LOWERED' }),
    );
    g.db.close();
  });

  it('the oldest pending age is when production first went undelivered, not the last reading', () => {
    const g = open(join(dir, 'age.db'));
    const MIN = 60_000;
    g.read(0, { count: 100 });
    expect(g.outbox.summary().oldestAt).toBeUndefined();
    g.read(1 * MIN, { count: 101 });
    // Readings go on for 16 minutes without a delivery: the wait starts at the first undelivered part.
    for (let m = 2; m <= 16; m++) g.read(m * MIN, { count: 100 + m });
    expect(g.outbox.summary().oldestAt).toBe(1 * MIN);
    // A delivery of what was read at 16 min, while 2 more came: those wait from the delivery on.
    g.read(17 * MIN, { count: 118 });
    g.outbox.counterDelivered('M1', [{ signal: 'count', total: 116 }], [], {}, 18 * MIN);
    expect(g.outbox.summary().oldestAt).toBe(18 * MIN);
    g.outbox.counterDelivered('M1', [{ signal: 'count', total: 118 }], [], {}, 19 * MIN);
    expect(g.outbox.summary()).toMatchObject({ pending: 0, oldestAt: undefined });
    g.read(20 * MIN, { count: 119 });
    expect(g.outbox.summary().oldestAt).toBe(20 * MIN);
    g.db.close();
  });
});
