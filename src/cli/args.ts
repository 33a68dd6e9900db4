/** Shared command-line parsing: every verb takes --config; some name one device. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import type { DeviceConfig } from '../config/schema.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export const DEFAULT_CONFIG = 'config/gateway.yaml';

export function parseVerbArgs<O extends ParseArgsOptionsConfig>(argv: string[], options: O = {} as O) {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG }, ...options },
  });
  return { values: parsed.values as Record<string, string | boolean | string[] | undefined> & { config: string }, positionals: parsed.positionals };
}

/**
 * For verbs that act on one device (`probe`, `trust`): parses `<device> [--config FILE]`,
 * loads the configuration and finds the device. Returns the exit code on any failure,
 * after saying what was wrong.
 */
export function deviceFromArgs(argv: string[], verb: string): { config: LoadedConfig; device: DeviceConfig } | number {
  const usage = `usage: shopfloor-gateway ${verb} <device> [--config ${DEFAULT_CONFIG}]\n`;
  let configFile: string;
  let id: string;
  try {
    const { values, positionals } = parseVerbArgs(argv);
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'which device? give its id' : 'give one device id');
    [configFile, id] = [values.config, positionals[0]];
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  let config: LoadedConfig;
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
  return { config, device };
}
