/**
 * `probe <device> [--config FILE]`: reads every signal of one device once and prints
 * what came back — the technician's commissioning tool. Exit 1 if any signal failed.
 */
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { adapterFactory } from '../adapters/registry.js';
import { deviceStateDir } from '../adapters/state-dir.js';
import type { AdapterSink, ProbeRow } from '../adapters/types.js';
import { systemClock } from '../core/clock.js';
import type { DeviceConfig } from '../config/schema.js';
import { reasonType } from '../machine/runstop.js';
import { checkCountValue } from '../machine/count-value.js';
import { createLogger } from '../core/log.js';
import { deviceFromArgs } from './args.js';
import { probeTable } from './table.js';

/** probe() returns the values; the background reporting of a running adapter is not wanted here. */
const ignore: AdapterSink = { readings() {}, signalError() {}, connection() {} };

export async function main(argv: string[]): Promise<number> {
  const found = deviceFromArgs(argv);
  if (typeof found === 'number') return found;
  const { config, device } = found;

  const stateDir = deviceStateDir(config.gateway, device.device);
  mkdirSync(stateDir, { recursive: true });
  const logger = createLogger('warn', pino.destination({ dest: 2, sync: true }));
  const adapter = (await adapterFactory(device.protocol))(device, { sink: ignore, logger, clock: systemClock, random: Math.random, stateDir });
  let rows: ProbeRow[];
  try {
    rows = await adapter.probe();
  } catch (err) {
    process.stderr.write(`probe of ${device.device} (${device.protocol}) failed: ${(err as Error).message}\n${portHint(device, [(err as Error).message])}`);
    return 1;
  } finally {
    await adapter.stop();
  }

  const shown = rows.map((r) => withStopType(device, checkedCount(device, r)));
  process.stdout.write(`${device.device} (${device.protocol})\n\n${probeTable(shown)}`);
  const failed = shown.filter((r) => r.error !== undefined);
  if (failed.length > 0)
    process.stderr.write(
      `\n${failed.length} of ${rows.length} signals could not be read\n${portHint(
        device,
        failed.map((r) => r.error!),
      )}`,
    );
  return failed.length > 0 ? 1 : 0;
}

/** A serial port another process holds open is, on a gateway PC, almost always the gateway itself. */
function portHint(device: DeviceConfig, errors: string[]): string {
  if (device.protocol !== 'modbus-rtu' || !errors.some((e) => /cannot lock port|resource temporarily unavailable|EBUSY|EAGAIN/i.test(e))) return '';
  return (
    `${device.connection.path} is held by another program, most likely the running gateway (it keeps its serial ports open): ` +
    'stop it first (systemctl stop shopfloor-gateway), or read the values on its status page instead.\n'
  );
}

/** A count the gateway would refuse (-5, 112.5, beyond its range) is shown as the error it is. */
function checkedCount(device: DeviceConfig, r: ProbeRow): ProbeRow {
  const m = device.machines.find((x) => x.code === r.machine);
  const source = r.signal === 'count' ? m?.count : m?.waste.find((w) => `waste:${w.code}` === r.signal)?.source;
  if (!m || source === undefined || r.value === undefined) return r;
  const v = checkCountValue(r.value, m.counterRollover ?? r.rollover);
  return v.ok ? r : { ...r, value: undefined, error: v.error };
}

/** A stop reason is shown with the downtime type it maps to, as the gateway would send it. */
function withStopType(device: DeviceConfig, r: ProbeRow): ProbeRow {
  const m = device.machines.find((x) => x.code === r.machine);
  if (r.signal !== 'stopReason' || r.value === undefined || !m?.stopReason) return r;
  const fallback = m.stopReason.default ?? m.downtimeType ?? 'Unplanned';
  const mapped = reasonType(r.value, { reasonMap: m.stopReason.map, fallbackType: '', idleType: '', minStateMs: 0 });
  return { ...r, value: `${String(r.value)} (${mapped || `${fallback}, not in map`})` };
}
