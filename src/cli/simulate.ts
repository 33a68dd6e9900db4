/**
 * `shopfloor-gateway simulate [--config FILE] [--mes-listen HOST:PORT]`: starts the MES
 * sandbox and the simulators of the configuration's loopback devices (see sim/demo.ts),
 * without the gateway — to run the gateway, `probe` or another tool against them.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfigOrReport, parseVerbArgs } from './args.js';
import type { LoadedConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import type { DemoWorld, startDemoWorld } from '../sim/demo.js';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(argv, { 'mes-listen': { type: 'string' }, 'no-plcs': { type: 'boolean', default: false } });
  const config = loadConfigOrReport(resolve(String(values.config)));
  if (!config) return 1;
  const logger = createLogger(config.gateway.log.level);
  const mesListen = String(values['mes-listen'] ?? config.gateway.simulate?.mes.listen ?? '127.0.0.1:8090');
  const world = await startSimulators(config, logger, { mes: true, plcs: !values['no-plcs'], mesListen });
  if (!world) return 1;
  logger.info('simulators running; Ctrl-C stops them');
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await world.close();
  return 0;
}

/**
 * Starts the simulators (for `simulate` and the demo's `run`; loaded only then, never on a
 * production gateway). A port already taken is said in one line and gives undefined.
 */
export async function startSimulators(config: LoadedConfig, logger: Logger, opts: Parameters<typeof startDemoWorld>[2]): Promise<DemoWorld | undefined> {
  const demo = await import('../sim/demo.js');
  try {
    return await demo.startDemoWorld(config, logger, opts);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code !== 'EADDRINUSE') throw err;
    const address = e.address === undefined ? e.message : `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
    process.stderr.write(
      `${address} is already in use: is the demo (or another gateway) already running? Stop it, or give the simulators other ports in the configuration.\n`,
    );
    return undefined;
  }
}
