/**
 * The two ways to bring a counter back in line with the MES (`shopfloor-gateway rebase`):
 * raise it above the MES keeping undelivered production (the MES is ahead), or set it to
 * exactly the MES's value, downward too (a wrong total such as a 1e20 the gateway took
 * before values were checked). Both are IMMEDIATE transactions, safe while the gateway runs.
 */
import type { Db } from './db.js';

export interface Rebased {
  before: number;
  after: number;
}

/** Moves a counter's delivered total onto the MES's value, keeping undelivered production on top. */
export function rebaseCounter(db: Db, machine: string, signal: string, mesValue: number, at: number): Rebased | undefined {
  return db
    .transaction(() => {
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
    })
    .immediate();
}

/**
 * Sets a counter's total to what the MES shows, even below the current total: nothing is
 * pending, and the next part the PLC makes is. The baseline stays at the PLC's last raw
 * value (nothing invented) and a held suspect value is dropped.
 */
export function setCounter(db: Db, machine: string, signal: string, mesValue: number, at: number): Rebased | undefined {
  return db
    .transaction(() => {
      const row = db.prepare<[string, string], { total: number }>('SELECT total FROM counter_state WHERE machine = ? AND signal = ?').get(machine, signal);
      if (!row) return undefined;
      db.prepare(
        `UPDATE counter_state SET total = @v, delivered = @v, attempted = @v, dead = NULL, held = NULL, pending_since = NULL, updated_at = @at
       WHERE machine = @machine AND signal = @signal`,
      ).run({ v: mesValue, at, machine, signal });
      return { before: row.total, after: mesValue };
    })
    .immediate();
}
