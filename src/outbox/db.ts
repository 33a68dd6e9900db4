/**
 * The gateway's one SQLite file: machine state, outbox, dead letters, history.
 * WAL so the CLI can read (and retry/drop) while the gateway writes; synchronous=FULL
 * because a count the MES never got must survive a power cut, and the write rate
 * (one transaction per poll batch) is far below what FULL sustains here (~11k tx/s).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkBeforeOpen, checkMarker, quickCheck, RECOVERY, StorageOpenError } from './integrity.js';
import { GatewayError } from '../core/errors.js';

export type Db = Database.Database;

const migrations: string[] = [
  `CREATE TABLE counter_state (
     machine TEXT NOT NULL,
     signal TEXT NOT NULL,            -- 'count' or 'waste:<code>'
     last_raw REAL NOT NULL,
     held_raw REAL,                   -- replaced by held (JSON) below
     total REAL NOT NULL,             -- monotonic guarded total
     delivered REAL NOT NULL,         -- highest total the MES accepted (or the starting point)
     attempted REAL NOT NULL,         -- highest total ever put on the wire
     dead REAL,                       -- total dead-lettered: not pending again until total passes it
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (machine, signal)
   )`,
  `CREATE TABLE run_state (machine TEXT PRIMARY KEY, state TEXT NOT NULL)`,
  `CREATE TABLE param_state (machine TEXT NOT NULL, code TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (machine, code))`,
  `CREATE TABLE outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL CHECK (kind IN ('parameter', 'startstop')),
     machine TEXT NOT NULL,
     key TEXT NOT NULL,               -- parameter code; for startstop the sequence
     body TEXT NOT NULL,
     rev INTEGER NOT NULL DEFAULT 1,  -- bumped when a newer value replaces a queued one
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT
   )`,
  `CREATE UNIQUE INDEX outbox_param ON outbox (machine, key) WHERE kind = 'parameter'`,
  `CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,              -- counter | parameters | startstop
     machine TEXT NOT NULL,
     body TEXT NOT NULL,
     status INTEGER NOT NULL,
     reason TEXT NOT NULL,
     at INTEGER NOT NULL
   )`,
  `CREATE TABLE history (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     machine TEXT NOT NULL,
     kind TEXT NOT NULL,              -- counter | parameters | startstop
     body TEXT NOT NULL,
     outcome TEXT NOT NULL            -- delivered | settled | verified | collapsed | dead | uncertain
   )`,
  `CREATE INDEX history_at ON history (at)`,
  `CREATE INDEX history_machine ON history (machine, kind, at)`,
  `CREATE TABLE request_log (at INTEGER NOT NULL)`,
  // Small facts that must outlive a restart, e.g. a 429 pause ('uplink.pausedUntil').
  `CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // What the counter was read from: a changed source starts a new baseline, not production.
  `ALTER TABLE counter_state ADD COLUMN source TEXT`,
  // Totals once a minute for the production-rate plot, so it survives a restart.
  `CREATE TABLE production_samples (machine TEXT NOT NULL, at INTEGER NOT NULL, total REAL NOT NULL)`,
  `CREATE INDEX production_samples_machine ON production_samples (machine, at)`,
  // Run/stop attempt marker: set (committed) just before the request leaves, so a transition
  // whose answer was lost is settled as `uncertain` instead of being sent a second time.
  `ALTER TABLE outbox ADD COLUMN attempted_at INTEGER`,
  // The guard judges moves by time and the machine's observed rate (machine/guard.ts). A
  // value held under the old rules is dropped: the next read is judged from last_raw.
  `ALTER TABLE counter_state ADD COLUMN seen_at INTEGER;
   ALTER TABLE counter_state ADD COLUMN changed_at INTEGER;
   ALTER TABLE counter_state ADD COLUMN rate REAL;
   ALTER TABLE counter_state ADD COLUMN held TEXT;
   UPDATE counter_state SET seen_at = updated_at, changed_at = updated_at;
   ALTER TABLE counter_state DROP COLUMN held_raw`,
  // When production first became undelivered (NULL when total = delivered): updated_at moves
  // with every reading, so it cannot tell how long the oldest undelivered count has waited.
  `ALTER TABLE counter_state ADD COLUMN pending_since INTEGER`,
  `UPDATE counter_state SET pending_since = updated_at WHERE total > delivered`,
];

/**
 * Every write transaction here is IMMEDIATE: it takes the write lock before reading, so a
 * CLI writing the same file (outbox retry, rebase) makes it wait (busy_timeout) instead of
 * failing it with SQLITE_BUSY_SNAPSHOT half-way.
 */
export function openDatabase(path: string, opts: { mustExist?: boolean } = {}): Db {
  const file = path !== ':memory:';
  // The CLI verbs pass mustExist: a missing file there is a wrong path, not a new gateway.
  if (file && !opts.mustExist) mkdirSync(dirname(path), { recursive: true });
  if (file) checkBeforeOpen(path);
  const db = new Database(path, { fileMustExist: opts.mustExist === true });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    // Checked before migrating: a damaged file is kept as it is, for whoever looks at it.
    if (file) quickCheck(db, path);
    migrate(db);
    if (file) checkMarker(db, path);
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (err instanceof Database.SqliteError && (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')) {
      throw new StorageOpenError('SFG_STORAGE_DAMAGED', `database ${path} is damaged (${err.message}) — ${RECOVERY}`, { cause: err });
    }
    throw err;
  }
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    throw new GatewayError(
      'SFG_STORAGE_NEWER_SCHEMA',
      `database was written by a newer shopfloor-gateway (schema ${version}, this one knows ${migrations.length})`,
    );
  }
  db.transaction(() => {
    for (let i = version; i < migrations.length; i++) db.exec(migrations[i]);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}
