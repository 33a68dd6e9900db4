/**
 * Whether the database at storage.path can be trusted, checked before the gateway writes
 * to it. Starting silently from an empty database where there was state would re-baseline
 * every counter (production since the last delivery lost) and forget the run/stop the MES
 * has, so a damaged, emptied or replaced file is refused with one line that names the
 * recovery (README, "Damaged or missing database").
 *
 * "There was state" is known from a marker next to the database, `<db>.id`, holding the
 * random id the database keeps in kv 'storage.id'. It is written once the database is
 * complete on its own (checkpointed, so the main file is never legitimately empty after).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync, fsyncSync } from 'node:fs';
import { GatewayError } from '../core/errors.js';
import type { Db } from './db.js';

/** Why the database is refused: damaged (or its WAL), missing/replaced where there was state, held by another gateway. */
export type StorageOpenCode = 'SFG_STORAGE_DAMAGED' | 'SFG_STORAGE_MISSING' | 'SFG_STORAGE_LOCKED';

export const RECOVERY = 'recovery: README.md, "Damaged or missing database"';

export class StorageOpenError extends GatewayError<StorageOpenCode> {}

const markerPath = (path: string) => `${path}.id`;

/** Before SQLite opens the file (opening would quietly discard a WAL it cannot read). */
export function checkBeforeOpen(path: string): void {
  const marker = existsSync(markerPath(path)) ? readFileSync(markerPath(path), 'utf8').trim() : undefined;
  const size = existsSync(path) ? statSync(path).size : undefined;
  if (marker !== undefined && (size === undefined || size === 0)) {
    throw new StorageOpenError(
      'SFG_STORAGE_MISSING',
      `database ${path} is ${size === undefined ? 'missing' : 'empty (0 bytes)'}, but ${markerPath(path)} says it held this gateway's state (id ${marker}); refusing to start from nothing — ${RECOVERY}`,
    );
  }
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0 && !validWalHeader(wal)) {
    throw new StorageOpenError(
      'SFG_STORAGE_DAMAGED',
      `database ${path} has a damaged write-ahead log ${wal} (its header is not SQLite's); refusing to start without what it holds — ${RECOVERY}`,
    );
  }
}

/**
 * The 32-byte WAL header: magic, version 3007000, and a checksum over its first 24 bytes
 * (SQLite's Fletcher-like sum; the magic's low bit says the byte order of the words).
 */
function validWalHeader(wal: string): boolean {
  const header = Buffer.alloc(32);
  const fd = openSync(wal, 'r');
  const n = readSync(fd, header, 0, 32, 0);
  closeSync(fd);
  if (n < 32) return false;
  const magic = header.readUInt32BE(0);
  if ((magic !== 0x377f0682 && magic !== 0x377f0683) || header.readUInt32BE(4) !== 3007000) return false;
  const word = (i: number) => (magic & 1 ? header.readUInt32BE(i) : header.readUInt32LE(i));
  let s0 = 0;
  let s1 = 0;
  for (let i = 0; i < 24; i += 8) {
    s0 = (s0 + word(i) + s1) >>> 0;
    s1 = (s1 + word(i + 4) + s0) >>> 0;
  }
  return s0 === header.readUInt32BE(24) && s1 === header.readUInt32BE(28);
}

/** SQLite's own page-level check (quick_check: every page and record, not index contents). */
export function quickCheck(db: Db, path: string): void {
  const rows = db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[];
  const found = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (found.length > 0) throw new StorageOpenError('SFG_STORAGE_DAMAGED', `database ${path} is damaged (quick_check: ${found.join('; ')}) — ${RECOVERY}`);
}

/** The database's id (kv 'storage.id'), once checkMarker wrote it. */
export function storageId(db: Db): string | undefined {
  return db.prepare<[], { value: string }>(`SELECT value FROM kv WHERE key = 'storage.id'`).get()?.value;
}

/** The database's id, matched against the marker (written here the first time). */
export function checkMarker(db: Db, path: string): void {
  let id = storageId(db);
  const marker = existsSync(markerPath(path)) ? readFileSync(markerPath(path), 'utf8').trim() : undefined;
  if (marker !== undefined && id !== marker) {
    throw new StorageOpenError(
      'SFG_STORAGE_MISSING',
      `database ${path} is not the one this gateway had (its id is ${id ?? 'none'}, ${markerPath(path)} says ${marker}): it was replaced or recreated; refusing to start from it — ${RECOVERY}`,
    );
  }
  if (marker !== undefined) return;
  // A random UUID (version 4) made by SQLite: node:crypto is not loaded on the way to listening (bench/startup).
  id ??= db
    .prepare<[], { value: string }>(
      `INSERT INTO kv (key, value) SELECT 'storage.id', lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)),
         substr(hex(randomblob(2)), 2), substr('89ab', 1 + (random() & 3), 1), substr(hex(randomblob(2)), 2), hex(randomblob(6)))) RETURNING value`,
    )
    .get()!.value;
  // Everything into the main file first: from now on an empty main file is damage, not a new database.
  db.pragma('wal_checkpoint(TRUNCATE)');
  const fd = openSync(markerPath(path), 'w');
  writeFileSync(fd, `${id}\n`);
  fsyncSync(fd);
  closeSync(fd);
}
