/** Per-machine state that must survive restarts: guarded counters, run/stop, last parameters. */
import type { Db } from './db.js';
import type { GuardState, HeldValue } from '../machine/guard.js';
import type { RunStopState } from '../machine/runstop.js';
import type { CounterState } from '../machine/store.js';
import type { SignalValue } from '../core/values.js';
import { GatewayError } from '../core/errors.js';

/** A counter as stored: the machine layer's state, and how far it reached the MES. */
export interface CounterRow extends CounterState {
  machine: string;
  signal: string;
  delivered: number;
  attempted: number;
  dead?: number;
}

interface CounterDbRow {
  machine: string;
  signal: string;
  last_raw: number;
  held: string | null;
  seen_at: number;
  changed_at: number;
  rate: number | null;
  total: number;
  delivered: number;
  attempted: number;
  dead: number | null;
  source: string | null;
}

const fromDb = (r: CounterDbRow): CounterRow => ({
  machine: r.machine,
  signal: r.signal,
  lastRaw: r.last_raw,
  held: r.held === null ? undefined : (JSON.parse(r.held) as HeldValue),
  seenAt: r.seen_at,
  changedAt: r.changed_at,
  rate: r.rate ?? undefined,
  total: r.total,
  delivered: r.delivered,
  attempted: r.attempted,
  dead: r.dead ?? undefined,
  source: r.source ?? undefined,
});

export class MachineStateStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      counter: db.prepare<[string, string], CounterDbRow>('SELECT * FROM counter_state WHERE machine = ? AND signal = ?'),
      counters: db.prepare<[string], CounterDbRow>('SELECT * FROM counter_state WHERE machine = ? ORDER BY signal'),
      allCounters: db.prepare<[], CounterDbRow>('SELECT * FROM counter_state ORDER BY machine, signal'),
      // The machines as a JSON array: one statement for a whole batch instead of one per machine.
      countersOf: db.prepare<[string], CounterDbRow>('SELECT * FROM counter_state WHERE machine IN (SELECT value FROM json_each(?)) ORDER BY machine, signal'),
      insertCounter: db.prepare(
        `INSERT INTO counter_state (machine, signal, last_raw, total, delivered, attempted, source, seen_at, changed_at, updated_at)
         VALUES (@machine, @signal, @lastRaw, @total, @total, 0, @source, @at, @at, @at)`,
      ),
      rebaseline: db.prepare(
        `UPDATE counter_state SET last_raw = @raw, held = NULL, rate = NULL, source = @source, seen_at = @at, changed_at = @at, updated_at = @at
         WHERE machine = @machine AND signal = @signal`,
      ),
      updateGuard: db.prepare(
        `UPDATE counter_state SET last_raw = @lastRaw, held = @held, total = @total, seen_at = @seenAt, changed_at = @changedAt,
           rate = @rate, updated_at = @at,
           pending_since = CASE WHEN @total > delivered THEN IFNULL(pending_since, @at) END
         WHERE machine = @machine AND signal = @signal AND total <= @total`,
      ),
      markSeen: db.prepare(`UPDATE counter_state SET seen_at = MAX(IFNULL(seen_at, 0), @at) WHERE machine = @machine AND signal = @signal`),
      runState: db.prepare<[string], { state: string }>('SELECT state FROM run_state WHERE machine = ?'),
      runStatesOf: db.prepare<[string], { machine: string; state: string }>(
        'SELECT machine, state FROM run_state WHERE machine IN (SELECT value FROM json_each(?))',
      ),
      putRunState: db.prepare('INSERT INTO run_state (machine, state) VALUES (?, ?) ON CONFLICT (machine) DO UPDATE SET state = excluded.state'),
      paramsOf: db.prepare<[string], { machine: string; code: string; value: string }>(
        'SELECT machine, code, value FROM param_state WHERE machine IN (SELECT value FROM json_each(?))',
      ),
      putParam: db.prepare('INSERT INTO param_state (machine, code, value) VALUES (?, ?, ?) ON CONFLICT (machine, code) DO UPDATE SET value = excluded.value'),
    };
  }

  counter(machine: string, signal: string): CounterRow | undefined {
    const r = this.q.counter.get(machine, signal);
    return r && fromDb(r);
  }

  counters(machine?: string): CounterRow[] {
    return (machine === undefined ? this.q.allCounters.all() : this.q.counters.all(machine)).map(fromDb);
  }

  /** The counters of these machines (by machine, then signal), in one query. */
  countersOf(machines: readonly string[]): CounterRow[] {
    return this.q.countersOf.all(JSON.stringify(machines)).map(fromDb);
  }

  /** First sight: the starting point counts as delivered, so nothing is sent until it moves. */
  insertCounter(machine: string, signal: string, state: Pick<GuardState, 'lastRaw' | 'total'>, source: string, at: number): void {
    this.q.insertCounter.run({ machine, signal, lastRaw: state.lastRaw, total: state.total, source, at });
  }

  /** Counting goes on from `raw` of a (new) source, whose rate is yet to be seen; the total is kept. */
  rebaseline(machine: string, signal: string, raw: number, source: string, at: number): void {
    this.q.rebaseline.run({ machine, signal, raw, source, at });
  }

  updateGuard(machine: string, signal: string, state: GuardState, at: number): void {
    const r = this.q.updateGuard.run({
      machine,
      signal,
      lastRaw: state.lastRaw,
      held: state.held === undefined ? null : JSON.stringify(state.held),
      total: state.total,
      seenAt: state.seenAt,
      changedAt: state.changedAt,
      rate: state.rate ?? null,
      at,
    });
    // The guard only adds; a smaller total here would be a bug that must not reach the MES.
    if (r.changes !== 1) throw new GatewayError('SFG_STATE_TOTAL_LOWERED', `refusing to lower the total of ${machine} ${signal}`);
  }

  /** An unchanged read: only the time it was seen moves on (what a later move may have taken). */
  markSeen(machine: string, signal: string, at: number): void {
    this.q.markSeen.run({ machine, signal, at });
  }

  runState(machine: string): RunStopState | undefined {
    const r = this.q.runState.get(machine);
    return r && (JSON.parse(r.state) as RunStopState);
  }

  /** The run/stop states of these machines that have one, in one query. */
  runStates(machines: readonly string[]): Map<string, RunStopState> {
    return new Map(this.q.runStatesOf.all(JSON.stringify(machines)).map((r) => [r.machine, JSON.parse(r.state) as RunStopState]));
  }

  putRunState(machine: string, state: RunStopState): void {
    this.q.putRunState.run(machine, JSON.stringify(state));
  }

  /** The last value queued per parameter code, of these machines that have one, in one query. */
  parameters(machines: readonly string[]): Map<string, Record<string, SignalValue>> {
    const byMachine = new Map<string, Record<string, SignalValue>>();
    for (const r of this.q.paramsOf.all(JSON.stringify(machines))) {
      const values = byMachine.get(r.machine) ?? {};
      values[r.code] = JSON.parse(r.value) as SignalValue;
      byMachine.set(r.machine, values);
    }
    return byMachine;
  }

  putParameter(machine: string, code: string, value: SignalValue): void {
    this.q.putParam.run(machine, code, JSON.stringify(value));
  }
}
