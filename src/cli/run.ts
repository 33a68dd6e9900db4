/** `shopfloor-gateway run [--config FILE]`: the daemon. */
import { resolve } from 'node:path';
import { loadConfigOrReport, parseVerbArgs } from './args.js';
import { watchConfig } from '../config/watch.js';
import { createLogger } from '../core/log.js';
import { Gateway } from '../gateway/gateway.js';
import { createNotifier } from './sd-notify.js';
import { explainOpenFailure, openStore } from './open-store.js';
import type { Logger } from 'pino';
import type { DemoWorld } from '../sim/demo.js';
import { resolvePath } from '../config/load.js';
import { systemClock } from '../core/clock.js';
import { errorCode, GatewayError } from '../core/errors.js';
import { lockDatabase, type DatabaseLock } from '../outbox/lock.js';
import { StorageOpenError, type StorageOpenCode } from '../outbox/integrity.js';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(argv);
  const gatewayFile = resolve(String(values.config));
  const config = loadConfigOrReport(
    gatewayFile,
    `\nThe gateway did not start. Fix the configuration (check it with: shopfloor-gateway validate --config ${values.config}).\n`,
  );
  if (!config) return 1;
  const logger = createLogger(config.gateway.log.level);
  for (const w of config.warnings) logger.warn({ event: w.event, file: w.file }, w.message);
  const lock = takeLock(config.gateway.storage.path, logger);
  if (typeof lock === 'number') return lock;
  // Checked here, so a bad storage.path is one clear line instead of a stack trace from the gateway.
  const store = openStore(config.gateway.storage.path, { mustExist: false });
  if ('message' in store) {
    lock.release();
    if (store.code === undefined) process.stderr.write(`${store.message}\n\nThe gateway did not start.\n`);
    else refuse(logger, config.gateway.storage.path, store.code, store.message);
    return store.code === undefined ? 1 : exitCodes[store.code];
  }
  const sim = config.gateway.simulate;
  let world: DemoWorld | undefined;
  // The simulators are loaded only for the demo, never on a production gateway; they start
  // once the status page listens (start-up), before the devices connect to them.
  const startWorld =
    sim &&
    (async () => {
      try {
        const { startSimulators } = await import('./simulate.js');
        world = await startSimulators(config, logger.child({ component: 'simulator' }), { mes: true, plcs: sim.plcs, mesListen: sim.mes.listen });
      } catch (err) {
        logger.fatal({ event: 'simulate.start_failed', err }, 'simulators could not start');
      }
      if (!world) throw new GatewayError('SFG_SIMULATE_FAILED', 'the demo simulators could not start');
    });
  let gateway: Gateway;
  try {
    gateway = await Gateway.start({ config, logger, db: store, beforeDevices: startWorld });
  } catch (err) {
    // One line with the cause, and an exit systemd restarts, instead of a crash on a rejected promise.
    if (errorCode(err) !== 'SFG_SIMULATE_FAILED') logger.fatal({ err, event: 'gateway.start_failed' }, 'the gateway could not start');
    lock.release();
    await world?.close();
    return 1;
  }
  const watcher = watchConfig({
    gatewayFile,
    devicesDir: config.devicesDir,
    logger,
    onValid: (next) => gateway.reload(next),
    onInvalid: (errors) => gateway.reloadFailed(errors),
  });
  const notifier = createNotifier();
  notifier.ready(`delivering for ${config.devices.length} devices`);
  notifier.startWatchdog();

  await new Promise<void>((done) => {
    const shutdown = (signal: string) => {
      logger.info({ event: 'gateway.stopping', signal }, 'shutting down');
      done();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  notifier.stopping();
  watcher.close();
  await gateway.stop();
  lock.release();
  await world?.close();
  notifier.close();
  return 0;
}

/**
 * Exit codes of a refusal. A damaged or missing database stays so until a person acts: the
 * unit's RestartPreventExitStatus= names 78, so systemd does not restart into it every 5 s.
 * Another gateway on the database may stop soon: 75 (temporary), restarted as usual.
 */
export const exitCodes: Record<StorageOpenCode, number> = { SFG_STORAGE_DAMAGED: 78, SFG_STORAGE_MISSING: 78, SFG_STORAGE_LOCKED: 75 };

const events: Record<StorageOpenCode, string> = {
  SFG_STORAGE_DAMAGED: 'storage.corrupt',
  SFG_STORAGE_MISSING: 'storage.missing',
  SFG_STORAGE_LOCKED: 'storage.locked',
};

/** The one line a refusal gets: the journal shows it as the reason the service failed. */
function refuse(logger: Logger, path: string, code: StorageOpenCode, message: string): void {
  logger.fatal({ event: events[code], code, path }, `The gateway did not start: ${message}`);
}

/** Before anything is written: a second gateway on the same database is refused here. */
function takeLock(storagePath: string, logger: Logger): DatabaseLock | number {
  const path = resolvePath(storagePath);
  try {
    return lockDatabase(path, systemClock);
  } catch (err) {
    if (err instanceof StorageOpenError) {
      refuse(logger, storagePath, err.code, err.message);
      return exitCodes[err.code];
    }
    process.stderr.write(`${explainOpenFailure(err as Error & { code?: string }, storagePath, path, { mustExist: false })}\n\nThe gateway did not start.\n`);
    return 1;
  }
}
