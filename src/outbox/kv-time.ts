/** One time value (ms since the epoch) kept in `kv` across restarts: the 429 pause, when Redis last answered the shared budget. */
import type { Db } from './db.js';

export class KvTime {
  private readonly q;

  constructor(
    db: Db,
    private readonly key: string,
  ) {
    this.q = {
      get: db.prepare<[string], { value: string }>(`SELECT value FROM kv WHERE key = ?`),
      put: db.prepare(`INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
  }

  get(): number | undefined {
    const r = this.q.get.get(this.key);
    return r ? Number(r.value) : undefined;
  }

  put(at: number): void {
    this.q.put.run(this.key, String(at));
  }
}
