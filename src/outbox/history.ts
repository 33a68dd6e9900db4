/** What was delivered or collapsed (for the timeline), pruning, and what the rate budget must remember across restarts. */
import type { Db } from './db.js';

export class History {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      timeline: db.prepare<[string, number], { body: string; outcome: string }>(
        `SELECT body, outcome FROM history WHERE machine = ? AND kind = 'startstop' AND at >= ? ORDER BY id`,
      ),
      pendingStartStop: db.prepare<[string], { body: string }>(
        `SELECT body FROM outbox WHERE machine = ? AND kind = 'startstop' ORDER BY created_at, id`,
      ),
      prune: db.prepare(`DELETE FROM history WHERE at < ?`),
      record: db.prepare(`INSERT INTO request_log (at) VALUES (?)`),
      answered: db.prepare(`UPDATE request_log SET at = ? WHERE rowid = ?`),
      recent: db.prepare<[number], { at: number }>(`SELECT at FROM request_log WHERE at >= ? ORDER BY at`),
      pruneRequests: db.prepare(`DELETE FROM request_log WHERE at < ?`),
      sample: db.prepare(`INSERT INTO production_samples (machine, at, total) SELECT machine, ?, total FROM counter_state WHERE signal = 'count'`),
      samples: db.prepare<[string, number], { at: number; total: number }>(
        `SELECT at, total FROM production_samples WHERE machine = ? AND at >= ? ORDER BY at`,
      ),
      pruneSamples: db.prepare(`DELETE FROM production_samples WHERE at < ?`),
      getKv: db.prepare<[string], { value: string }>(`SELECT value FROM kv WHERE key = ?`),
      putKv: db.prepare(`INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
  }

  /** Run/stop transitions since `from` (by when they happened), pending ones last. */
  timeline(machine: string, from: number): { at: number; running: boolean; type?: string; sent: boolean; uncertain?: true }[] {
    const parse = (body: string, sent: boolean, uncertain = false) => {
      const b = JSON.parse(body) as { at: number; running: number; type: string };
      return { at: b.at, running: b.running === 1, type: b.type, sent, ...(uncertain ? { uncertain: true as const } : {}) };
    };
    const done = this.q.timeline.all(machine, from).map((r) => parse(r.body, r.outcome === 'delivered' || r.outcome === 'verified' || r.outcome === 'uncertain', r.outcome === 'uncertain'));
    const pending = this.q.pendingStartStop.all(machine).map((r) => parse(r.body, false));
    return [...done, ...pending].filter((t) => t.at >= from).sort((a, b) => a.at - b.at);
  }

  prune(before: number): number {
    return this.q.prune.run(before).changes;
  }

  /** Records every machine's good-parts total now; samples older than `keepFrom` go. */
  sampleProduction(at: number, keepFrom: number): void {
    this.q.sample.run(at);
    this.q.pruneSamples.run(keepFrom);
  }

  production(machine: string, from: number): { at: number; total: number }[] {
    return this.q.samples.all(machine, from);
  }

  /** Returns the row, for `requestAnswered`. */
  recordRequest(at: number): number {
    const row = Number(this.q.record.run(at).lastInsertRowid);
    this.q.pruneRequests.run(at - 120_000);
    return row;
  }

  /** The MES counts a request somewhere up to its answer: the window keeps it until then (rate-budget.ts). */
  requestAnswered(row: number, at: number): void {
    this.q.answered.run(at, row);
  }

  recentRequests(from: number): number[] {
    return this.q.recent.all(from).map((r) => r.at);
  }

  /** Until when the MES asked every integration of the company to wait (429 Retry-After). */
  pausedUntil(): number | undefined {
    const r = this.q.getKv.get('uplink.pausedUntil');
    return r ? Number(r.value) : undefined;
  }

  savePause(until: number): void {
    this.q.putKv.run('uplink.pausedUntil', String(until));
  }
}
