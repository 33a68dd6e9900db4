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
import { createLogger } from '../log.js';
import { deviceFromArgs } from './args.js';
import { probeTable } from './table.js';

/** probe() returns the values; the background reporting of a running adapter is not wanted here. */
const ignore: AdapterSink = { readings() {}, signalError() {}, connection() {} };

export async function main(argv: string[]): Promise<number> {
  const found = deviceFromArgs(argv, 'probe');
  if (typeof found === 'number') return found;
  const { config, device } = found;

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
