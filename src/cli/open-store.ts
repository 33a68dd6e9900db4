/** Opens the gateway's database for a CLI verb (safe while the gateway runs: SQLite WAL). */
import { resolve } from 'node:path';
import { loadConfig, ConfigError } from '../config/load.js';
import { openDatabase, type Db } from '../outbox/db.js';

export function openStoreFromConfig(configFile: string): Db | undefined {
  try {
    const config = loadConfig(resolve(configFile));
    return openDatabase(config.gateway.storage.path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return undefined;
  }
}
