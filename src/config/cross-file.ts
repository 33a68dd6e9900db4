/**
 * Rules that span device files: ids and machine codes are unique across all of them
 * (the MES knows a machine by its code alone), and devices on one serial bus agree on
 * its line settings.
 */
import { displayPath, formatPath, type ConfigProblem } from './errors.js';
import type { LoadedDevice } from './load.js';
import type { DeviceOf } from './schema.js';

type Path = (string | number)[];
interface Seen {
  device: LoadedDevice;
  path: Path;
}

const busSettings = ['baudRate', 'parity', 'dataBits', 'stopBits'] as const;

export function crossFileProblems(devices: readonly LoadedDevice[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const ids = new Map<string, Seen>();
  const codes = new Map<string, Seen>();
  const buses = new Map<string, Seen & { connection: DeviceOf<'modbus-rtu'>['connection'] }>();
  const problem = (d: LoadedDevice, path: Path, message: string) =>
    problems.push({ code: 'SFG_CONFIG_CONFLICT', file: displayPath(d.file), ...d.locate(path), path: formatPath(path), message });

  for (const d of devices) {
    const id = d.config.device;
    const firstId = ids.get(id);
    if (firstId) problem(d, ['device'], `device id ${id} is also used in ${where(firstId)}; each device needs its own id`);
    else ids.set(id, { device: d, path: ['device'] });

    d.config.machines.forEach((m, i) => {
      const path = ['machines', i, 'code'];
      const first = codes.get(m.code);
      if (first) problem(d, path, `machine code ${m.code} is also used in ${where(first)}; each machine code must be unique`);
      else codes.set(m.code, { device: d, path });
    });

    if (d.config.protocol !== 'modbus-rtu') continue;
    const connection = d.config.connection;
    const bus = buses.get(connection.path);
    if (!bus) {
      buses.set(connection.path, { device: d, path: ['connection', 'path'], connection });
      continue;
    }
    for (const key of busSettings) {
      if (connection[key] === bus.connection[key]) continue;
      problem(
        d,
        ['connection', key],
        `serial port ${connection.path} is also used by ${where(bus)} with ${key} ${bus.connection[key]}; devices on one bus must use the same ${key}`,
      );
    }
  }
  return problems;
}

function where(s: Seen): string {
  const { line, column } = s.device.locate(s.path);
  return `${displayPath(s.device.file)}:${line}:${column}`;
}
