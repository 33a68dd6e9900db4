/**
 * `probe <device> [--config FILE]`: reads every signal of one device once and prints
 * what came back — the technician's commissioning tool. Exit 1 if any signal failed.
 */
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { adapterFactory } from '../adapters/registry.js';
import { deviceStateDir } from '../adapters/state-dir.js';
import type { AdapterSink, ProbeRow } from '../adapters/types.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { parseVerbArgs } from './args.js';
import { probeTable } from './table.js';

const usage = 'usage: shopfloor-gateway probe <device> [--config config/gateway.yaml]\n';

/** probe() returns the values; the background reporting of a running adapter is not wanted here. */
const ignore: AdapterSink = { readings() {}, signalError() {}, connection() {} };

export async function main(argv: string[]): Promise<number> {
  let configFile: string;
  let id: string | undefined;
  try {
    const { values, positionals } = parseVerbArgs(argv);
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'which device? give its id' : 'give one device id');
    [configFile, id] = [values.config, positionals[0]];
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig(configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const device = config.devices.find((d) => d.config.device === id)?.config;
  if (!device) {
    process.stderr.write(`unknown device "${id}"; known: ${config.devices.map((d) => d.config.device).join(', ')}\n`);
    return 2;
  }

  const stateDir = deviceStateDir(config.gateway, device.device);
  mkdirSync(stateDir, { recursive: true });
  const logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));
  const adapter = (await adapterFactory(device.protocol))(device, { sink: ignore, logger, clock: systemClock, stateDir });
  let rows: ProbeRow[];
  try {
    rows = await adapter.probe();
  } catch (err) {
    process.stderr.write(`probe of ${device.device} (${device.protocol}) failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await adapter.stop();
  }

  process.stdout.write(`${device.device} (${device.protocol})\n\n${probeTable(rows)}`);
  const failed = rows.filter((r) => r.error !== undefined).length;
  if (failed > 0) process.stderr.write(`\n${failed} of ${rows.length} signals could not be read\n`);
  return failed > 0 ? 1 : 0;
}
