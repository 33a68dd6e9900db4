/**
 * The outbox: what the MES has not acknowledged yet, and what it refused.
 *
 * Counters are cumulative, so the outbox for them is the guarded total itself
 * (counter_state.total > delivered): whatever is newest when a request goes out is
 * sent, which coalesces without losing anything. Parameters are one row per code
 * (newest wins, `rev` guards against acknowledging a value that was replaced while in
 * flight). Run/stop transitions are rows in order of when they happened.
 */
import type { Db } from './db.js';
import type { SignalValue } from '../core/values.js';
import type { Transition } from '../machine/runstop.js';
import type { Lane } from '../core/lanes.js';

export type MesKind = 'counter' | 'parameters' | 'startstop';

export interface CounterValue {
  /** 'count' or 'waste:<code>'. */
  signal: string;
  total: number;
}

export interface ParameterItem {
  id: number;
  rev: number;
  code: string;
  value: SignalValue;
}

export interface StartStopItem {
  id: number;
  type: string;
  running: 0 | 1;
  at: number;
  /** Set when a request for it may have reached the MES without an answer (see nextStartStop). */
  attemptedAt?: number;
}

export interface DeadLetter {
  id: number;
  kind: MesKind;
  machine: string;
  body: unknown;
  status: number;
  reason: string;
  at: number;
}

export interface PendingSummary {
  pending: number;
  oldestAt?: number;
  byMachine: Record<string, number>;
}

export interface OutboxOptions {
  /**
   * Writes that wait for the next commit instead of making one of their own (the request
   * log's answer times): run inside every transaction of the outbox, first.
   */
  alsoCommit?: () => void;
}

export class Outbox {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly opts: OutboxOptions = {},
  ) {
    this.q = {
      counterLanes: db.prepare<[], { machine: string }>(
        `SELECT DISTINCT machine FROM counter_state WHERE total > delivered AND (dead IS NULL OR total > dead)`,
      ),
      otherLanes: db.prepare<[], { machine: string; kind: string }>(`SELECT DISTINCT machine, kind FROM outbox`),
      pendingCounters: db.prepare<[string], CounterValue>(
        `SELECT signal, total FROM counter_state WHERE machine = ? AND total > delivered AND (dead IS NULL OR total > dead) ORDER BY signal`,
      ),
      attempt: db.prepare(`UPDATE counter_state SET attempted = MAX(attempted, @total) WHERE machine = @machine AND signal = @signal`),
      attempted: db.prepare<[string, string], { attempted: number; delivered: number }>(
        `SELECT attempted, delivered FROM counter_state WHERE machine = ? AND signal = ?`,
      ),
      // What is still above the delivered value came after the value sent: its wait starts now at the latest.
      deliver: db.prepare(
        `UPDATE counter_state SET delivered = MAX(delivered, @total), pending_since = CASE WHEN total > MAX(delivered, @total) THEN @at END
         WHERE machine = @machine AND signal = @signal`,
      ),
      // Refused for good: totals up to this one are not pending until the dead letter is retried.
      markDead: db.prepare(`UPDATE counter_state SET dead = MAX(IFNULL(dead, 0), @total), pending_since = NULL WHERE machine = @machine AND signal = @signal`),
      // Refused for certain: the value no longer counts as possibly received.
      unattempt: db.prepare(`UPDATE counter_state SET attempted = @attempted WHERE machine = @machine AND signal = @signal`),
      undead: db.prepare(
        `UPDATE counter_state SET dead = NULL, pending_since = CASE WHEN total > delivered THEN IFNULL(pending_since, @now) END WHERE machine = @machine`,
      ),
      params: db.prepare<[string], { id: number; rev: number; key: string; body: string }>(
        `SELECT id, rev, key, body FROM outbox WHERE kind = 'parameter' AND machine = ? ORDER BY key`,
      ),
      upsertParam: db.prepare(
        `INSERT INTO outbox (kind, machine, key, body, created_at, updated_at) VALUES ('parameter', @machine, @code, @body, @at, @at)
         ON CONFLICT (machine, key) WHERE kind = 'parameter'
         DO UPDATE SET body = excluded.body, rev = rev + 1, updated_at = excluded.updated_at`,
      ),
      insertParamIfAbsent: db.prepare(
        `INSERT INTO outbox (kind, machine, key, body, created_at, updated_at) VALUES ('parameter', @machine, @code, @body, @at, @at)
         ON CONFLICT (machine, key) WHERE kind = 'parameter' DO NOTHING`,
      ),
      all: db.prepare<[], { machine: string; kind: string; key: string; body: string; last_error: string | null }>(
        `SELECT machine, kind, key, body, last_error FROM outbox ORDER BY machine, kind, created_at, id`,
      ),
      deleteRev: db.prepare(`DELETE FROM outbox WHERE id = ? AND rev = ?`),
      deleteId: db.prepare(`DELETE FROM outbox WHERE id = ?`),
      insertStartStop: db.prepare(
        `INSERT INTO outbox (kind, machine, key, body, created_at, updated_at) VALUES ('startstop', @machine, @key, @body, @at, @now)`,
      ),
      startStops: db.prepare<[string], { id: number; body: string; attempted_at: number | null }>(
        `SELECT id, body, attempted_at FROM outbox WHERE kind = 'startstop' AND machine = ? ORDER BY created_at, id`,
      ),
      markStartStop: db.prepare(`UPDATE outbox SET attempted_at = ? WHERE id = ?`),
      unmarkStartStop: db.prepare(`UPDATE outbox SET attempted_at = NULL WHERE id = ?`),
      failed: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = @error WHERE id = @id`),
      history: db.prepare(`INSERT INTO history (at, machine, kind, body, outcome) VALUES (?, ?, ?, ?, ?)`),
      lastSentStartStop: db.prepare<[string], { body: string }>(
        `SELECT body FROM history WHERE machine = ? AND kind = 'startstop' AND outcome IN ('delivered', 'verified', 'uncertain') ORDER BY id DESC LIMIT 1`,
      ),
      similarDead: db.prepare<[string, string, number], { id: number; reason: string }>(
        `SELECT id, reason FROM dead_letters WHERE kind = ? AND machine = ? AND status = ?`,
      ),
      refreshDead: db.prepare(`UPDATE dead_letters SET body = @body, reason = @reason, at = @at WHERE id = @id`),
      insertDead: db.prepare(`INSERT INTO dead_letters (kind, machine, body, status, reason, at) VALUES (@kind, @machine, @body, @status, @reason, @at)`),
      deadLetters: db.prepare<[], { id: number; kind: MesKind; machine: string; body: string; status: number; reason: string; at: number }>(
        `SELECT * FROM dead_letters ORDER BY id`,
      ),
      deadLetter: db.prepare<[number], { id: number; kind: MesKind; machine: string; body: string; status: number; reason: string; at: number }>(
        `SELECT * FROM dead_letters WHERE id = ?`,
      ),
      deleteDead: db.prepare(`DELETE FROM dead_letters WHERE id = ?`),
      pendingOther: db.prepare<[], { machine: string; n: number; oldest: number }>(
        `SELECT machine, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox GROUP BY machine`,
      ),
      pendingCounterRows: db.prepare<[], { machine: string; n: number; oldest: number }>(
        `SELECT machine, COUNT(*) AS n, MIN(pending_since) AS oldest FROM counter_state
         WHERE total > delivered AND (dead IS NULL OR total > dead) GROUP BY machine`,
      ),
    };
  }

  // ------------------------------------------------------------ written by the machine layer

  enqueueParameter(machine: string, code: string, value: SignalValue, at: number): void {
    this.q.upsertParam.run({ machine, code, body: JSON.stringify({ code, value }), at });
  }

  enqueueStartStop(machine: string, t: Transition, now: number): void {
    const body: Omit<StartStopItem, 'id'> = { type: t.type, running: t.running, at: t.at };
    this.q.insertStartStop.run({ machine, key: String(t.at), body: JSON.stringify(body), at: t.at, now });
  }

  // ------------------------------------------------------------ read by the uploader

  /** Machines with work, per lane. A machine with a pending counter needs no parameters-only request. */
  lanes(): { machine: string; lane: Lane }[] {
    const counters = new Set(this.q.counterLanes.all().map((r) => r.machine));
    const out: { machine: string; lane: Lane }[] = [...counters].map((machine) => ({ machine, lane: 'counter' as const }));
    for (const r of this.q.otherLanes.all()) {
      if (r.kind === 'startstop') out.push({ machine: r.machine, lane: 'startstop' });
      else if (!counters.has(r.machine)) out.push({ machine: r.machine, lane: 'parameters' });
    }
    return out;
  }

  pendingCounters(machine: string): CounterValue[] {
    return this.q.pendingCounters.all(machine);
  }

  pendingParameters(machine: string): ParameterItem[] {
    return this.q.params.all(machine).map((r) => {
      const { code, value } = JSON.parse(r.body) as { code: string; value: SignalValue };
      return { id: r.id, rev: r.rev, code, value };
    });
  }

  /**
   * The run/stop item to send for a machine, applying two rules.
   *
   * Uncertain outcome: a row whose attempt is marked (see markStartStopAttempt) went out but
   * was never settled (no answer, a crash, or its commit failed after the answer). It is
   * returned with its `attemptedAt`, before anything newer, for the uploader to ask the MES
   * whether it arrived (docs/delivery.md#uncertain-outcomes): a second copy could open a second
   * downtime, a lost one would leave the MES in the wrong state.
   *
   * Offline collapse: when several transitions are queued, the ones before the newest both
   * began and ended while they could not be sent; replaying them would make the MES (which
   * stamps at receipt) record zero-length downtimes at the wrong time, so they go to history
   * as `collapsed`, and the newest is sent only if it differs from what the MES last got.
   */
  nextStartStop(machine: string, now: number): StartStopItem | undefined {
    const all = this.q.startStops
      .all(machine)
      .map((r) => ({ ...(JSON.parse(r.body) as Omit<StartStopItem, 'id'>), id: r.id, attemptedAt: r.attempted_at ?? undefined }));
    const uncertain = all.find((r) => r.attemptedAt !== undefined);
    if (uncertain) return uncertain;
    if (all.length <= 1) return all[0];
    const newest = all[all.length - 1];
    const last = this.q.lastSentStartStop.get(machine);
    const lastSent = last && (JSON.parse(last.body) as { running: number; type: string });
    // A run is a run whatever stop it ends; a stop is new if its downtime type differs. With
    // nothing sent yet the MES is taken as running, as the machine layer does at first sight.
    const redundant =
      lastSent === undefined ? newest.running === 1 : lastSent.running === newest.running && (newest.running === 1 || lastSent.type === newest.type);
    const collapse = redundant ? all : all.slice(0, -1);
    this.commit(() => {
      for (const r of collapse) this.toHistory(machine, r, now, 'collapsed');
    });
    return redundant ? undefined : newest;
  }

  /**
   * Committed on its own just before the request's bytes leave: from here on the MES may have
   * the transition, whatever happens to this process or its disk.
   */
  markStartStopAttempt(id: number, at: number): void {
    this.commit(() => this.q.markStartStop.run(at, id));
  }

  /** The request certainly did not reach the MES (refused connection, 429, a 5xx answer): send it again later. */
  startStopNotSent(item: StartStopItem, error: string): void {
    this.commit(() => {
      this.q.unmarkStartStop.run(item.id);
      this.q.failed.run({ id: item.id, error });
    });
  }

  /** The MES's downtimes show it arrived, though its answer did not. */
  startStopVerified(machine: string, item: StartStopItem, at: number): void {
    this.commit(() => this.toHistory(machine, item, at, 'verified'));
  }

  /** It may have reached the MES and the MES could not tell us: taken as received, never sent again. */
  startStopUncertain(machine: string, item: StartStopItem, at: number): void {
    this.commit(() => this.toHistory(machine, item, at, 'uncertain'));
  }

  /** Highest total ever put on the wire, and the highest accepted, for one counter signal. */
  sentBefore(machine: string, signal: string): { attempted: number; delivered: number } {
    return this.q.attempted.get(machine, signal) ?? { attempted: 0, delivered: 0 };
  }

  /** Before a counter request goes out (committed first: a crash after this knows it may have been received). */
  markAttempt(machine: string, values: CounterValue[]): void {
    this.commit(() => {
      for (const v of values) this.q.attempt.run({ machine, signal: v.signal, total: v.total });
    });
  }

  counterDelivered(
    machine: string,
    values: CounterValue[],
    params: ParameterItem[],
    body: unknown,
    at: number,
    outcome: 'delivered' | 'settled' = 'delivered',
  ): void {
    this.commit(() => {
      for (const v of values) this.q.deliver.run({ machine, signal: v.signal, total: v.total, at });
      for (const p of params) this.q.deleteRev.run(p.id, p.rev);
      this.q.history.run(at, machine, 'counter', JSON.stringify(body), outcome);
    });
  }

  /**
   * The MES refused these values (a definite answer, unlike a timeout): they go back to
   * what sentBefore() said before the request. `attemptedBefore` is that answer.
   */
  counterRefused(machine: string, values: CounterValue[], attemptedBefore: Map<string, { attempted: number }>): void {
    this.commit(() => {
      for (const v of values) this.q.unattempt.run({ machine, signal: v.signal, attempted: attemptedBefore.get(v.signal)?.attempted ?? 0 });
    });
  }

  counterDead(
    machine: string,
    values: CounterValue[],
    attemptedBefore: Map<string, { attempted: number }>,
    body: unknown,
    status: number,
    reason: string,
    at: number,
  ): number {
    return this.commit(() => {
      this.counterRefused(machine, values, attemptedBefore);
      for (const v of values) this.q.markDead.run({ machine, signal: v.signal, total: v.total });
      this.q.history.run(at, machine, 'counter', JSON.stringify(body), 'dead');
      return this.addDeadLetter('counter', machine, body, status, reason, at);
    });
  }

  parametersDelivered(machine: string, params: ParameterItem[], body: unknown, at: number): void {
    this.commit(() => {
      for (const p of params) this.q.deleteRev.run(p.id, p.rev);
      this.q.history.run(at, machine, 'parameters', JSON.stringify(body), 'delivered');
    });
  }

  parametersDead(machine: string, params: ParameterItem[], body: unknown, status: number, reason: string, at: number): number {
    return this.commit(() => {
      for (const p of params) this.q.deleteRev.run(p.id, p.rev);
      this.q.history.run(at, machine, 'parameters', JSON.stringify(body), 'dead');
      return this.addDeadLetter('parameters', machine, body, status, reason, at);
    });
  }

  startStopDelivered(machine: string, item: StartStopItem, at: number): void {
    this.commit(() => this.toHistory(machine, item, at, 'delivered'));
  }

  /** Takes a run/stop row out of the queue into history. Call inside a transaction. */
  private toHistory(machine: string, item: StartStopItem, at: number, outcome: 'delivered' | 'verified' | 'collapsed' | 'uncertain'): void {
    this.q.deleteId.run(item.id);
    this.q.history.run(at, machine, 'startstop', JSON.stringify({ type: item.type, running: item.running, at: item.at }), outcome);
  }

  startStopDead(machine: string, item: StartStopItem, status: number, reason: string, at: number): number {
    return this.commit(() => {
      this.q.deleteId.run(item.id);
      const body = { type: item.type, running: item.running, at: item.at };
      this.q.history.run(at, machine, 'startstop', JSON.stringify(body), 'dead');
      return this.addDeadLetter('startstop', machine, body, status, reason, at);
    });
  }

  /** A retryable failure, remembered on the rows for display. */
  failed(ids: number[], error: string): void {
    if (ids.length > 0)
      this.commit(() => {
        for (const id of ids) this.q.failed.run({ id, error });
      });
  }

  /** One IMMEDIATE transaction (see db.ts), with the writes that wait for a commit. */
  private commit<T>(fn: () => T): T {
    return this.db
      .transaction(() => {
        this.opts.alsoCommit?.();
        return fn();
      })
      .immediate();
  }

  /**
   * The same refusal again (a waste code the MES does not know, refused at every new
   * total; "not greater than 700", then "than 705") updates the one dead letter instead
   * of filling the list. Numbers in the reason do not make it another refusal.
   */
  private addDeadLetter(kind: MesKind, machine: string, body: unknown, status: number, reason: string, at: number): number {
    const shape = (r: string) => r.replace(/\d+(\.\d+)?/g, '#');
    const same = this.q.similarDead.all(kind, machine, status).find((d) => shape(d.reason) === shape(reason));
    if (same) {
      this.q.refreshDead.run({ id: same.id, body: JSON.stringify(body), reason, at });
      return same.id;
    }
    return Number(this.q.insertDead.run({ kind, machine, body: JSON.stringify(body), status, reason, at }).lastInsertRowid);
  }

  // ------------------------------------------------------------ status, CLI

  summary(): PendingSummary {
    const byMachine: Record<string, number> = {};
    let pending = 0;
    let oldestAt: number | undefined;
    for (const r of [...this.q.pendingOther.all(), ...this.q.pendingCounterRows.all()]) {
      byMachine[r.machine] = (byMachine[r.machine] ?? 0) + r.n;
      pending += r.n;
      oldestAt = oldestAt === undefined ? r.oldest : Math.min(oldestAt, r.oldest);
    }
    return { pending, oldestAt, byMachine };
  }

  /** Queued parameter and run/stop rows, for the CLI. Counters are listed from machine state. */
  pendingItems(): { machine: string; kind: string; key: string; body: string; lastError?: string }[] {
    return this.q.all.all().map((r) => ({ machine: r.machine, kind: r.kind, key: r.key, body: r.body, lastError: r.last_error ?? undefined }));
  }

  deadLetters(): DeadLetter[] {
    return this.q.deadLetters.all().map((r) => ({ ...r, body: JSON.parse(r.body) }));
  }

  /** Puts a dead letter back in the queue. Counters re-send their newest totals. */
  retryDead(id: number, now: number): boolean {
    const r = this.q.deadLetter.get(id);
    if (!r) return false;
    this.commit(() => {
      const body = JSON.parse(r.body);
      if (r.kind === 'counter') this.q.undead.run({ machine: r.machine, now });
      else if (r.kind === 'parameters') {
        // A newer value queued since then wins over the refused one.
        for (const p of (body as { parameters: { code: string; value: SignalValue }[] }).parameters) {
          this.q.insertParamIfAbsent.run({ machine: r.machine, code: p.code, body: JSON.stringify(p), at: now });
        }
      } else this.enqueueStartStop(r.machine, body as Transition, now);
      this.q.deleteDead.run(id);
    });
    return true;
  }

  dropDead(id: number): boolean {
    return this.q.deleteDead.run(id).changes === 1;
  }
}
