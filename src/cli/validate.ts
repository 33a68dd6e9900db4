/** `validate [--config FILE]`: checks gateway.yaml and every device file; no network. */
import { existsSync } from 'node:fs';
import { displayPath } from '../config/errors.js';
import { ConfigError, loadConfig, resolvePath } from '../config/load.js';
import { parseVerbArgs, UsageError } from './args.js';
import { formatTable } from './table.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const configFile = values.config;
  try {
    const { gatewayFile, devices, warnings } = loadConfig(configFile);
    const machines = devices.reduce((n, d) => n + d.config.machines.length, 0);
    const rows = devices.map(({ config: d }) => ({ device: d.device, protocol: d.protocol, machines: d.machines.map((m) => m.code).join(', ') }));
    process.stdout.write(`OK  ${displayPath(gatewayFile)}: ${count(devices.length, 'device')}, ${count(machines, 'machine')}\n`);
    process.stdout.write(indent(formatTable(rows)));
    // Files the gateway will need at run time; their absence is a warning, not a config error:
    // the file may be copied in later, but the connection fails until it is.
    for (const { file, config: d } of devices) {
      if (d.protocol === 'mqtt' && d.connection.ca !== undefined && !existsSync(d.connection.ca)) {
        process.stdout.write(`WARN  ${displayPath(file)}: connection.ca ${d.connection.ca} does not exist (yet); ${d.device} cannot connect until it does\n`);
      }
    }
    for (const w of warnings) process.stdout.write(`WARN  ${w.message}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n\nINVALID  ${displayPath(resolvePath(configFile))}: ${count(err.problems.length, 'problem')}\n`);
    return 1;
  }
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
