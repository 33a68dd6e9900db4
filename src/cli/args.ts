/** Shared command-line parsing: every verb takes --config. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
