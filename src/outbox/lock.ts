/**
 * One running gateway per database. The lock is SQLite's own (a POSIX file lock) on a small
 * side database `<db>.lock`, held by a write transaction that stays open while the gateway
 * runs: the kernel drops it with the process, even after SIGKILL, so there is no stale lock
 * to clean up. The main database is not locked: the CLI verbs (`outbox`, `rebase`) still
 * read and write it while the gateway runs.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import { StorageOpenError } from './integrity.js';

export interface DatabaseLock {
  release(): void;
}

/** A second gateway waits this long for the holder's brief commit before it is refused. */
const COMMIT_WAIT_MS = 2000;

const lockPath = (path: string) => `${path}.lock`;

export function lockDatabase(path: string, clock: Clock, pid = process.pid): DatabaseLock {
  mkdirSync(dirname(path), { recursive: true });
  const lock = new Database(lockPath(path), { timeout: COMMIT_WAIT_MS });
  try {
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)');
    // Take it, say who holds it (committed, so a refused gateway can name us), take it again.
    // Losing it in between means another gateway took it: refused like any other.
    begin(lock, path);
    lock.prepare('DELETE FROM holder').run();
    lock.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(pid, clock.now());
    lock.exec('COMMIT');
    begin(lock, path);
  } catch (err) {
    lock.close();
    throw err;
  }
  return { release: () => lock.close() };
}

function begin(lock: Database.Database, path: string): void {
  lock.pragma('busy_timeout = 0');
  try {
    lock.exec('BEGIN IMMEDIATE');
  } catch (err) {
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    lock.pragma(`busy_timeout = ${COMMIT_WAIT_MS}`);
    const holder = lock.prepare<[], { pid: number; since: number }>('SELECT pid, since FROM holder').get();
    const who = holder ? `pid ${holder.pid}, running since ${new Date(holder.since).toISOString()}` : 'holder unknown';
    throw new StorageOpenError('SFG_STORAGE_LOCKED', `another gateway is running on the database ${path} (${who}); stop it first — one gateway per database`, {
      cause: err,
    });
  }
  lock.pragma(`busy_timeout = ${COMMIT_WAIT_MS}`);
}
