/** Moves a counter's delivered total onto the MES's value, keeping undelivered production on top. */
import type { Db } from './db.js';

export function rebaseCounter(db: Db, machine: string, signal: string, mesValue: number, at: number): { before: number; after: number } | undefined {
  return db.transaction(() => {
    const row = db
      .prepare<[string, string], { total: number; delivered: number }>('SELECT total, delivered FROM counter_state WHERE machine = ? AND signal = ?')
      .get(machine, signal);
    if (!row) return undefined;
    const undelivered = Math.max(0, row.total - row.delivered);
    const after = Math.max(row.total, mesValue + undelivered);
    db.prepare(
      `UPDATE counter_state SET total = @after, delivered = MAX(delivered, @mes), attempted = MAX(attempted, @mes), dead = NULL, updated_at = @at,
         pending_since = CASE WHEN @after > MAX(delivered, @mes) THEN IFNULL(pending_since, @at) END
       WHERE machine = @machine AND signal = @signal`,
    ).run({ after, mes: mesValue, at, machine, signal });
    return { before: row.total, after };
  }).immediate();
}
