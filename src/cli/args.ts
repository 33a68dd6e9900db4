/** Shared command-line parsing: every verb takes --config (and --help); some name one device. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import type { DeviceConfig } from '../config/schema.js';
import { closest } from '../config/words.js';
import { GatewayError } from '../core/errors.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export const DEFAULT_CONFIG = 'config/gateway.yaml';

/**
 * A command line the verb cannot use. `main.ts` prints the message with the verb's usage
 * and exits 2; `--help` is one without a message (the usage on stdout, exit 0).
 */
export class UsageError extends GatewayError<'SFG_USAGE'> {
  constructor(
    message: string,
    readonly help = false,
  ) {
    super('SFG_USAGE', message);
  }
}

/** Throws UsageError for `--help`/`-h` and for an unknown option or a missing value. */
export function parseVerbArgs<O extends ParseArgsOptionsConfig>(argv: string[], options: O = {} as O) {
  if (argv.includes('--help') || argv.includes('-h')) throw new UsageError('', true);
  const all: ParseArgsOptionsConfig = { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG }, ...options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: all });
  } catch (err) {
    const e = err as Error & { code?: string };
    const unknown = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(e.message)?.[1] : undefined;
    if (unknown === undefined) throw new UsageError(e.message);
    const hint = closest(unknown.replace(/^-+/, ''), Object.keys(all));
    throw new UsageError(`unknown option ${unknown}${hint ? `; did you mean --${hint}?` : ''}`);
  }
  return { values: parsed.values as Record<string, string | boolean | string[] | undefined> & { config: string }, positionals: parsed.positionals };
}

/**
 * Loads the configuration for a verb; on a configuration error prints it (and `after`, if
 * given) to stderr and returns undefined. Any other error is a bug and propagates.
 */
export function loadConfigOrReport(configFile: string, after = '', load: (file: string) => LoadedConfig = loadConfig): LoadedConfig | undefined {
  return reportConfigError(() => load(configFile), after);
}

/** `load()`, or undefined after printing its configuration error (and `after`) to stderr. */
export function reportConfigError<T>(load: () => T, after = ''): T | undefined {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n${after}`);
    return undefined;
  }
}

/**
 * Commissioning comes before the MES keys: `probe` talks to one device only, so variables
 * that are not set (the API secret, another device's password) must not stop it. They are
 * filled with a placeholder and named on stderr; any other configuration error still stops it.
 */
function loadWithoutSecrets(configFile: string): LoadedConfig {
  try {
    return loadConfig(configFile);
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.problems.every((p) => p.code === 'SFG_CONFIG_ENV_UNSET')) throw err;
    const unset = [...new Set(err.problems.map((p) => p.variable!))];
    process.stderr.write(`note: ${unset.join(', ')} not set; used as placeholders (fine unless this device needs them)\n`);
    return loadConfig(configFile, { env: { ...process.env, ...Object.fromEntries(unset.map((n) => [n, `unset-${n}`])) } });
  }
}

/**
 * For verbs that act on one device (`probe`, `trust`): parses `<device> [--config FILE]`,
 * loads the configuration and finds the device. Returns the exit code on any failure,
 * after saying what was wrong.
 */
export function deviceFromArgs(argv: string[]): { config: LoadedConfig; device: DeviceConfig } | number {
  const { values, positionals } = parseVerbArgs(argv);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'which device? give its id' : 'give one device id');
  const [configFile, id] = [values.config, positionals[0]];
  const config = loadConfigOrReport(configFile, '', loadWithoutSecrets);
  if (!config) return 1;
  const device = config.devices.find((d) => d.config.device === id)?.config;
  if (!device) {
    process.stderr.write(`unknown device "${id}"; known: ${config.devices.map((d) => d.config.device).join(', ')}\n`);
    return 2;
  }
  return { config, device };
}
