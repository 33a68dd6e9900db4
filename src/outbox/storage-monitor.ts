/**
 * What the database is doing to the gateway, as an operator must see it: a full disk or a
 * failing file is said once (then a summary every few minutes with how often it happened),
 * shown on the page and in /healthz, and cleared by the first write that succeeds again.
 * The writes that failed lose nothing: each is one transaction, rolled back whole, and the
 * next reading re-derives the same production from the PLC's own counter.
 */
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';
import { RECOVERY, StorageOpenError } from './integrity.js';
import { faultLabel, type StorageFault, type StorageStatus } from '../core/status.js';

/** A fault already said is said again only this often, with the count meanwhile. */
export const STORAGE_LOG_MS = 5 * 60_000;

/** What kind of storage fault an error is; undefined when it is not SQLite's. */
function storageFault(err: unknown): StorageFault | undefined {
  if (err instanceof StorageOpenError && err.code === 'SFG_STORAGE_DAMAGED') return 'corrupt';
  if (!(err instanceof Database.SqliteError)) return undefined;
  // SQLite reports a full disk as SQLITE_FULL, or as an I/O error when the WAL cannot grow.
  if (err.code === 'SQLITE_FULL' || err.code.startsWith('SQLITE_IOERR')) return 'full';
  if (err.code === 'SQLITE_CORRUPT' || err.code === 'SQLITE_NOTADB') return 'corrupt';
  return 'error';
}

const NEXT: Record<StorageFault, string> = {
  full: 'readings go on, nothing is lost, writing resumes by itself once there is space',
  corrupt: `the gateway goes on as far as it can; a restart refuses this file — ${RECOVERY}`,
  error: 'readings go on, nothing is lost, writing resumes by itself once the database takes writes',
};

const EVENTS: Record<StorageFault, string> = { full: 'storage.full', corrupt: 'storage.corrupt', error: 'storage.error' };

export class StorageMonitor {
  private current: StorageStatus;
  private lastLogAt = 0;
  private unlogged = 0;
  private readonly changes;

  constructor(
    db: Db,
    private readonly path: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.current = { path, state: 'ok' };
    this.changes = db.prepare<[], number>('SELECT total_changes()').pluck();
  }

  status(): StorageStatus {
    return { ...this.current };
  }

  /**
   * Runs a piece of work that writes to the database. Returns false when it failed (the
   * fault is recorded and logged). Only a write that changed rows proves the disk takes
   * writes again: a batch of unchanged readings commits nothing, even on a full disk.
   */
  run(where: string, fn: () => void): boolean {
    const before = this.changes.get()!;
    try {
      fn();
    } catch (err) {
      this.failed(err, where);
      return false;
    }
    // A damaged file does not heal by a write landing; it stays reported until a restart refuses it.
    if ((this.current.state === 'full' || this.current.state === 'error') && this.changes.get()! > before) this.recovered();
    return true;
  }

  /** A write failed (also one made elsewhere, e.g. by the uplink). */
  failed(err: unknown, where: string): void {
    const fault = storageFault(err) ?? 'error';
    const now = this.clock.now();
    const message = (err as Error).message;
    const first = this.current.state !== fault;
    this.current = {
      path: this.path,
      state: fault,
      since: first ? now : this.current.since,
      lastError: message,
      failures: (first ? 0 : (this.current.failures ?? 0)) + 1,
    };
    if (!first && now - this.lastLogAt < STORAGE_LOG_MS) {
      this.unlogged++;
      return;
    }
    const fields = { event: EVENTS[fault], path: this.path, where, code: (err as { code?: string }).code, error: message };
    // The stack only for what is not a known disk condition: it is a bug or an unknown fault.
    const line = fault === 'error' ? { ...fields, err } : fields;
    if (first) this.logger.error(line, `${faultLabel(fault)}: ${this.path}; ${NEXT[fault]}`);
    else this.logger.error({ ...line, failures: this.unlogged + 1 }, `${faultLabel(fault)} still: ${this.path}`);
    this.lastLogAt = now;
    this.unlogged = 0;
  }

  private recovered(): void {
    const { state, since, failures } = this.current;
    this.logger.info(
      { event: 'storage.recovered', path: this.path, was: state, failures, forMs: since === undefined ? undefined : this.clock.now() - since },
      `storage writes again: ${this.path}`,
    );
    this.current = { path: this.path, state: 'ok' };
    this.unlogged = 0;
  }
}
