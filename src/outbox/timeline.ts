/** What a machine's timeline on the status page shows: its run/stop transitions and production samples; and their pruning. */
import type { Db } from './db.js';

export interface TimelineEntry {
  at: number;
  running: boolean;
  type?: string;
  sent: boolean;
  uncertain?: true;
}

export class Timeline {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      transitions: db.prepare<[string, number], { body: string; outcome: string }>(
        `SELECT body, outcome FROM history WHERE machine = ? AND kind = 'startstop' AND at >= ? ORDER BY id`,
      ),
      pendingStartStop: db.prepare<[string], { body: string }>(`SELECT body FROM outbox WHERE machine = ? AND kind = 'startstop' ORDER BY created_at, id`),
      prune: db.prepare(`DELETE FROM history WHERE at < ?`),
      sample: db.prepare(`INSERT INTO production_samples (machine, at, total) SELECT machine, ?, total FROM counter_state WHERE signal = 'count'`),
      samples: db.prepare<[string, number], { at: number; total: number }>(
        `SELECT at, total FROM production_samples WHERE machine = ? AND at >= ? ORDER BY at`,
      ),
      pruneSamples: db.prepare(`DELETE FROM production_samples WHERE at < ?`),
    };
  }

  /** Run/stop transitions since `from` (by when they happened), pending ones last. */
  transitions(machine: string, from: number): TimelineEntry[] {
    const parse = (body: string, sent: boolean, uncertain = false) => {
      const b = JSON.parse(body) as { at: number; running: number; type: string };
      return { at: b.at, running: b.running === 1, type: b.type, sent, ...(uncertain ? { uncertain: true as const } : {}) };
    };
    const done = this.q.transitions
      .all(machine, from)
      .map((r) => parse(r.body, r.outcome === 'delivered' || r.outcome === 'verified' || r.outcome === 'uncertain', r.outcome === 'uncertain'));
    const pending = this.q.pendingStartStop.all(machine).map((r) => parse(r.body, false));
    return [...done, ...pending].filter((t) => t.at >= from).sort((a, b) => a.at - b.at);
  }

  /** Forgets delivery history (all kinds, not only run/stop) older than `before`. */
  pruneHistory(before: number): number {
    return this.q.prune.run(before).changes;
  }

  /** Records every machine's good-parts total now; samples older than `keepFrom` go. */
  sampleProduction(at: number, keepFrom: number): void {
    this.db
      .transaction(() => {
        this.q.sample.run(at);
        this.q.pruneSamples.run(keepFrom);
      })
      .immediate();
  }

  production(machine: string, from: number): { at: number; total: number }[] {
    return this.q.samples.all(machine, from);
  }
}
