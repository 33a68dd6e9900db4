/**
 * Re-reads the configuration when gateway.yaml or a device file changes. A valid change
 * is handed on; an invalid one is reported and the running configuration stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, ConfigError, formatProblem, type LoadedConfig } from './load.js';

export interface ConfigWatcherOptions {
  gatewayFile: string;
  devicesDir: string;
  logger: Logger;
  onValid: (config: LoadedConfig) => Promise<void> | void;
  onInvalid: (errors: string[]) => void;
  /** Editors write a file in several steps: wait for quiet before reading. */
  settleMs?: number;
}

export function watchConfig(o: ConfigWatcherOptions): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let busy = Promise.resolve();
  const gatewayDir = dirname(o.gatewayFile);
  let devicesDir = o.devicesDir;
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  const reload = () => {
    busy = busy.then(async () => {
      try {
        const next = loadConfig(o.gatewayFile);
        o.logger.info({ event: 'config.applied', devices: next.devices.length }, 'configuration changed; applying');
        follow(next.devicesDir);
        await o.onValid(next);
      } catch (err) {
        const errors = err instanceof ConfigError ? err.problems.map(formatProblem) : [(err as Error).message];
        o.logger.error(
          { event: 'config.rejected', errors, ...(err instanceof ConfigError ? {} : { err }) },
          'configuration change rejected; the running configuration stays',
        );
        o.onInvalid(errors);
      }
    });
  };
  const schedule = (_event: string, file: string | Buffer | null) => {
    if (file && !/\.ya?ml$/i.test(String(file))) return;
    clearTimeout(timer);
    timer = setTimeout(reload, o.settleMs ?? 300);
  };
  const watchDir = (dir: string) => {
    if (closed || watchers.has(dir)) return;
    try {
      watchers.set(dir, watch(dir, schedule));
    } catch (err) {
      o.logger.warn({ event: 'config.watch_failed', dir, err }, 'cannot watch configuration folder; changes need a restart');
    }
  };
  /** gateway.yaml now names another devices folder: watch that one instead. */
  const follow = (dir: string) => {
    if (dir === devicesDir) return;
    if (devicesDir !== gatewayDir) {
      watchers.get(devicesDir)?.close();
      watchers.delete(devicesDir);
    }
    devicesDir = dir;
    watchDir(dir);
    o.logger.info({ folder: dir }, 'devices folder changed; watching it now');
  };
  watchDir(gatewayDir);
  watchDir(devicesDir);
  o.logger.info({ event: 'config.watching', folders: watchers.size }, 'watching configuration for changes');
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
    },
  };
}
