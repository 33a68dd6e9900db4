/** `shopfloor-gateway run [--config FILE]`: the daemon. */
import { resolve } from 'node:path';
import { loadConfigOrReport, parseVerbArgs } from './args.js';
import { watchConfig } from '../config/watch.js';
import { createLogger } from '../log.js';
import { Gateway } from '../gateway.js';
import type { GatewayConfig } from '../config/schema.js';
import { startWebServer } from '../web/server.js';
import { createNotifier } from './sd-notify.js';
import { openStore } from './open-store.js';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(argv);
  const gatewayFile = resolve(String(values.config));
  const config = loadConfigOrReport(
    gatewayFile,
    `\nThe gateway did not start. Fix the configuration (check it with: shopfloor-gateway validate --config ${values.config}).\n`,
  );
  if (!config) return 1;
  // Checked here, so a bad storage.path is one clear line instead of a stack trace from the gateway.
  const store = openStore(config.gateway.storage.path, { mustExist: false });
  if (typeof store === 'string') {
    process.stderr.write(`${store}\n\nThe gateway did not start.\n`);
    return 1;
  }
  const logger = createLogger(config.gateway.log.level);
  for (const w of config.warnings) logger.warn({ event: w.event, file: w.file }, w.message);
  const sim = config.gateway.simulate;
  let world;
  try {
    // The simulators are loaded only for the demo, never on a production gateway.
    world = sim && (await (await import('./simulate.js')).startSimulators(config, logger.child({ component: 'simulator' }), { mes: true, plcs: sim.plcs, mesListen: sim.mes.listen }));
  } catch (err) {
    logger.fatal({ err }, 'simulators could not start');
  }
  if (sim && !world) {
    store.close();
    return 1;
  }
  const gateway = new Gateway({ config, logger, db: store });
  await gateway.start();
  const startWeb = (g: GatewayConfig) =>
    startWebServer({ listen: g.web.listen, token: g.web.token, provider: gateway, logger: logger.child({ component: 'web' }) }).then((w) => {
      logger.info({ url: w.url }, 'status page listening');
      return w;
    });
  let web: Awaited<ReturnType<typeof startWeb>>;
  try {
    web = await startWeb(config.gateway);
  } catch (err) {
    logger.fatal({ err }, 'status page could not start');
    await gateway.stop();
    await world?.close();
    return 1;
  }
  let current = config;
  const watcher = watchConfig({
    gatewayFile,
    devicesDir: config.devicesDir,
    logger,
    onValid: async (next) => {
      await gateway.reload(next);
      logger.level = next.gateway.log.level;
      if (JSON.stringify(next.gateway.web) !== JSON.stringify(current.gateway.web)) {
        logger.info('status page settings changed; restarting it');
        await web.close();
        try {
          web = await startWeb(next.gateway);
        } catch (err) {
          logger.error({ err }, 'status page could not start with the new settings; keeping the old ones');
          web = await startWeb(current.gateway);
        }
      }
      current = next;
    },
    onInvalid: (errors) => gateway.reloadFailed(errors),
  });
  const notifier = createNotifier();
  notifier.ready(`delivering for ${config.devices.length} devices`);
  notifier.startWatchdog();

  await new Promise<void>((done) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      done();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  notifier.stopping();
  watcher.close();
  await web.close();
  await gateway.stop();
  await world?.close();
  notifier.close();
  return 0;
}
