/**
 * `shopfloor-gateway simulate [--config FILE] [--mes-listen HOST:PORT]`: starts the MES
 * sandbox and a simulated PLC for each loopback Modbus TCP device of the configuration,
 * without the gateway — to run the gateway (or another tool) against them.
 */
import { resolve } from 'node:path';
import { parseVerbArgs } from './args.js';
import { loadConfig, ConfigError } from '../config/load.js';
import { createLogger } from '../log.js';
import { startDemoWorld } from '../sim/demo.js';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(argv, { 'mes-listen': { type: 'string' }, 'no-plcs': { type: 'boolean', default: false } });
  let config;
  try {
    config = loadConfig(resolve(String(values.config)));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const logger = createLogger(config.gateway.log.level);
  const mesListen = String(values['mes-listen'] ?? config.gateway.simulate?.mes.listen ?? '127.0.0.1:8090');
  const world = await startDemoWorld(config, logger, { mes: true, plcs: !values['no-plcs'], mesListen });
  logger.info('simulators running; Ctrl-C stops them');
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await world.close();
  return 0;
}
