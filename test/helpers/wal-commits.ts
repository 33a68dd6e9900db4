/**
 * Counts the commits SQLite wrote to a database's WAL: with synchronous=FULL each is one
 * fsync, what wears an SD card. `stopCheckpoints` first, so the WAL only grows while counting.
 */
import { readFileSync } from 'node:fs';
import type { Db } from '../../src/outbox/db.js';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

export function stopCheckpoints(db: Db): void {
  db.pragma('wal_autocheckpoint = 0');
}

/** Commit frames (a frame header whose "database size after commit" is set) in `<file>-wal`. */
export function walCommits(file: string): number {
  const wal = readFileSync(`${file}-wal`);
  if (wal.length < WAL_HEADER) return 0;
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}
