/** A 429 pause the MES asked for, kept in `kv` so that a restart does not send before Retry-After. */
import type { Db } from './db.js';

const KEY = 'uplink.pausedUntil';

export class MesPause {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      get: db.prepare<[string], { value: string }>(`SELECT value FROM kv WHERE key = ?`),
      put: db.prepare(`INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
  }

  /** Until when the MES asked every integration of the company to wait. */
  until(): number | undefined {
    const r = this.q.get.get(KEY);
    return r ? Number(r.value) : undefined;
  }

  save(until: number): void {
    this.q.put.run(KEY, String(until));
  }
}
