/**
 * The MES requests of the last two minutes (`request_log`), so that a restart cannot burst
 * past the company's limit (uplink/rate-budget.ts replays them).
 *
 * Each send costs the SD card one commit: its row is written together with the caller's
 * attempt marker (`record`). Its answer time is not committed on its own: it waits in memory
 * for the next commit (the delivery it settles, through the Outbox's `alsoCommit`), and
 * `flush` commits it only when no such commit came.
 */
import type { Db } from './db.js';

/** How long sends are kept: more than the rate budget's window (SPAN_MS) looks back. */
const KEEP_MS = 120_000;

export class RequestLog {
  private readonly q;
  /** Answer times by row, not on disk yet. */
  private readonly unwritten = new Map<number, number>();

  constructor(private readonly db: Db) {
    this.q = {
      record: db.prepare(`INSERT INTO request_log (at) VALUES (?)`),
      answered: db.prepare(`UPDATE request_log SET at = ? WHERE rowid = ?`),
      // All of them (at most KEEP_MS of sends): a send before `from` may have been answered after it.
      all: db.prepare<[], { row: number; at: number }>(`SELECT rowid AS row, at FROM request_log`),
      prune: db.prepare(`DELETE FROM request_log WHERE at < ?`),
    };
  }

  /**
   * A send at `at`, committed with `alsoWrite` (the attempt marker) and the answers waiting,
   * in one IMMEDIATE transaction. Returns the row, for `answered`.
   */
  record(at: number, alsoWrite?: () => void): number {
    const waiting = new Map(this.unwritten);
    try {
      return this.db
        .transaction(() => {
          this.writeAnswers();
          const row = Number(this.q.record.run(at).lastInsertRowid);
          this.q.prune.run(at - KEEP_MS);
          alsoWrite?.();
          return row;
        })
        .immediate();
    } catch (err) {
      // Rolled back: the answers written in it are still to be written.
      for (const [row, t] of waiting) this.unwritten.set(row, t);
      throw err;
    }
  }

  /** The MES counts a request somewhere up to its answer: the window keeps it until then (rate-budget.ts). */
  answered(row: number, at: number): void {
    this.unwritten.set(row, at);
  }

  /**
   * Writes the answers waiting, as part of the caller's transaction. Should that roll back
   * (a failing disk), those rows keep their send time: a restart counts them a little early.
   */
  writeAnswers(): void {
    for (const [row, at] of this.unwritten) this.q.answered.run(at, row);
    this.unwritten.clear();
  }

  /** Commits the answers waiting, if any (none when a delivery's commit took them). */
  flush(): void {
    if (this.unwritten.size > 0) this.db.transaction(() => this.writeAnswers()).immediate();
  }

  /** Send (or answer) times since `from`, oldest first, the answers waiting in memory included. */
  recent(from: number): number[] {
    return this.q.all
      .all()
      .map((r) => this.unwritten.get(r.row) ?? r.at)
      .filter((at) => at >= from)
      .sort((a, b) => a - b);
  }
}
