/** Opens the gateway's database for a CLI verb (safe while the gateway runs: SQLite WAL). */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { ConfigError, loadConfig, loadGatewayFile, resolvePath } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { reportConfigError } from './args.js';
import { openDatabase, type Db } from '../outbox/db.js';
import { StorageOpenError, type StorageOpenCode } from '../outbox/integrity.js';

/**
 * For the verbs that read what the gateway wrote (`outbox`, `rebase`): the file must exist.
 * They need only storage.path from gateway.yaml: a broken device file is shown as a warning,
 * so that the technician fixing it still sees what is queued.
 */
export function openStoreFromConfig(configFile: string): Db | undefined {
  const storagePath = reportConfigError(() => gatewayForDatabase(configFile))?.storage.path;
  if (storagePath === undefined) return undefined;
  const db = openStore(storagePath, { mustExist: true });
  if ('message' in db) process.stderr.write(`${db.message}\n`);
  return 'message' in db ? undefined : db;
}

function gatewayForDatabase(file: string): GatewayConfig {
  try {
    return loadConfig(file).gateway;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Throws the gateway file's own problems, which the verb cannot do without.
    const gateway = loadGatewayFile(file);
    process.stderr.write(`warning: the device files have errors (the gateway would not start); the database is read anyway:\n${err.message}\n\n`);
    return gateway;
  }
}

/** Why the database cannot be used; `code` when it is damaged, missing where there was state, or locked. */
export interface StoreProblem {
  message: string;
  code?: StorageOpenCode;
}

/**
 * Opens the database at storage.path (creating it unless `mustExist`), or returns in one
 * line what is wrong with it: missing, unreadable, a file where a folder should be, damaged.
 */
export function openStore(storagePath: string, opts: { mustExist: boolean }): Db | StoreProblem {
  const path = resolvePath(storagePath);
  try {
    return openDatabase(path, opts);
  } catch (err) {
    if (err instanceof StorageOpenError) return { message: err.message, code: err.code };
    return { message: explainOpenFailure(err as Error & { code?: string }, storagePath, path, opts) };
  }
}

/** What went wrong opening the database at `path` (from `storagePath` in gateway.yaml), in one line. */
export function explainOpenFailure(err: Error & { code?: string }, storagePath: string, path: string, opts: { mustExist: boolean }): string {
  const relative = isAbsolute(storagePath) ? '' : ` (storage.path "${storagePath}" is taken relative to the working directory ${process.cwd()})`;
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) return `storage.path ${path} cannot work: ${dir} is a file, not a folder${relative}; fix storage.path in gateway.yaml`;
  if (existsSync(path) && statSync(path).isDirectory()) return `storage.path ${path} is a folder; it must name the database file, e.g. ${path}/gateway.db`;
  if (opts.mustExist && !existsSync(path)) {
    return `no database at ${path}${relative}; run this from the gateway's working directory or make storage.path absolute (the gateway creates the file when it first runs)`;
  }
  const access = /^(EACCES|EPERM|SQLITE_(CANTOPEN|READONLY|PERM|AUTH))/.test(err.code ?? '');
  const hint = access ? "; the user running this must be able to read and write it and its folder (run as the gateway's user, or with sudo)" : '';
  return `cannot open the database ${path}: ${err.message}${hint}`;
}
