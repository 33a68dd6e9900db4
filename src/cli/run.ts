/** `shopfloor-gateway run [--config FILE]`: the daemon. */
import { resolve } from 'node:path';
import { parseVerbArgs } from './args.js';
import { loadConfig, ConfigError } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { createLogger } from '../log.js';
import { Gateway } from '../gateway.js';
import { startWebServer } from '../web/server.js';
import { createNotifier } from './sd-notify.js';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(argv);
  const gatewayFile = resolve(String(values.config));
  let config;
  try {
    config = loadConfig(gatewayFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n\nThe gateway did not start. Fix the configuration (check it with: shopfloor-gateway validate --config ${values.config}).\n`);
    return 1;
  }
  const logger = createLogger(config.gateway.log.level);
  const sim = config.gateway.simulate;
  // The simulators are loaded only for the demo, never on a production gateway.
  const world = sim ? await (await import('../sim/demo.js')).startDemoWorld(config, logger.child({ component: 'simulator' }), { mes: true, plcs: sim.plcs, mesListen: sim.mes.listen }) : undefined;
  const gateway = new Gateway({ config, logger });
  await gateway.start();
  let web;
  try {
    web = await startWebServer({ listen: config.gateway.web.listen, token: config.gateway.web.token, provider: gateway, logger: logger.child({ component: 'web' }) });
    logger.info({ url: web.url }, 'status page listening');
  } catch (err) {
    logger.fatal({ err }, 'status page could not start');
    await gateway.stop();
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
