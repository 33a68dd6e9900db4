/**
 * The Modbus side of commissioning: a connection check in steps a technician can act on,
 * a one-off read decoded every way (decode-all.ts), and the links the scans (scan.ts) run
 * on. A serial line is shared with the devices on it (bus.ts); TCP gets its own socket.
 */
import type { Clock } from '../../core/clock.js';
import { sleep } from '../../core/clock.js';
import type { CheckStep, ModbusReadQuery, ModbusReadResult } from '../../core/commission.js';
import { errorCode, GatewayError } from '../../core/errors.js';
import type { ConnectionOf } from '../../config/schema.js';
import { serialUnitLink } from './bus.js';
import { decodeAll } from './decode-all.js';
import type { RawData } from './decode.js';
import { errorText, modbusCode, tcpUnitLink, type UnitLink } from './link.js';

export type ModbusConnection = ConnectionOf<'modbus-tcp'> | ConnectionOf<'modbus-rtu-over-tcp'> | ConnectionOf<'modbus-rtu'>;

export function isModbusConnection(d: { protocol: string }): d is ModbusConnection {
  return d.protocol === 'modbus-tcp' || d.protocol === 'modbus-rtu-over-tcp' || d.protocol === 'modbus-rtu';
}

/**
 * A link to any unit of the device's line or host. `exclusive` (serial only): the scan has
 * the line to itself until close(); the devices on it wait.
 */
export async function unitLink(d: ModbusConnection, clock: Clock, exclusive: boolean, warn: (message: string) => void): Promise<UnitLink> {
  try {
    if (d.protocol === 'modbus-rtu') {
      const { path, baudRate, parity, dataBits, stopBits } = d.connection;
      return await serialUnitLink({ path, baudRate, parity, dataBits, stopBits }, clock, exclusive, warn);
    }
    return await tcpUnitLink(d.connection, d.protocol === 'modbus-tcp' ? 'mbap' : 'rtu');
  } catch (err) {
    throw new GatewayError('SFG_MODBUS_UNREACHABLE', errorText(err), { cause: err });
  }
}

/** Socket errors in words, and what to check. */
const TCP_WORDS: Record<string, string> = {
  ECONNREFUSED: 'the host refused the connection: nothing listens on this port (wrong port, or Modbus TCP switched off in the PLC)',
  ETIMEDOUT: 'no answer from the host: wrong address, host off, or a firewall drops the connection',
  EHOSTUNREACH: 'the host is not reachable: check the address and the network cable',
  ENETUNREACH: 'the network is not reachable from the gateway: check the address and the gateway’s network settings',
  ENOTFOUND: 'host name not found: check the spelling, or use the IP address',
  ECONNRESET: 'the host closed the connection at once: it may allow only a few clients, or only some addresses',
};

/** modbus-serial's serial errors carry no code; their wording is read here only. */
function serialCode(message: string): string {
  if (/no such file/i.test(message)) return 'ENOENT';
  if (/permission denied/i.test(message)) return 'EACCES';
  if (/lock|temporarily unavailable|busy/i.test(message)) return 'EBUSY';
  return 'SFG_SERIAL_OPEN_FAILED';
}

const SERIAL_WORDS: Record<string, string> = {
  ENOENT: 'no such serial port: is the USB adapter plugged in? Pick one of the listed ports',
  EACCES: 'the gateway may not open this port: add its user to the dialout group',
  EBUSY: 'another program holds this port open (a second gateway, a terminal program): close it',
  SFG_SERIAL_OPEN_FAILED: 'the serial port could not be opened',
};

function timeoutWords(d: ModbusConnection): string {
  const unit = d.connection.unitId;
  return d.protocol === 'modbus-rtu'
    ? `no answer from unit ${unit} within ${d.connection.timeoutMs} ms: check the unit id, baud rate, parity, and the A/B wires (swapped wires are the most common fault)`
    : `connected, but no answer from unit ${unit} within ${d.connection.timeoutMs} ms: check the unit id${d.protocol === 'modbus-rtu-over-tcp' ? ', and that the converter passes RTU frames (not Modbus TCP)' : ', and that this port speaks Modbus TCP'}`;
}

/** tcp.connect or serial.open, then modbus.first-read of holding register 0 of the unit. */
export async function checkModbus(d: ModbusConnection, clock: Clock): Promise<CheckStep[]> {
  const open = d.protocol === 'modbus-rtu' ? 'serial.open' : 'tcp.connect';
  let link: UnitLink;
  try {
    link = await unitLink(d, clock, false, () => undefined);
  } catch (err) {
    // The link's error, under it modbus-serial's or the socket's.
    const cause = ((err as Error).cause as Error | undefined)?.cause;
    const code = open === 'serial.open' ? serialCode(errorText(cause ?? err)) : (errorCode(cause) ?? 'ETIMEDOUT');
    const words = (open === 'serial.open' ? SERIAL_WORDS : TCP_WORDS)[code] ?? errorText(err);
    return [{ step: open, ok: false, code, detail: `${words} (${errorText(cause ?? err)})` }];
  }
  const where = d.protocol === 'modbus-rtu' ? d.connection.path : `${d.connection.host}:${d.connection.port}`;
  const steps: CheckStep[] = [{ step: open, ok: true, detail: `${where} open` }];
  const sent = clock.now();
  try {
    await link.read(d.connection.unitId, 'holding', 0, 1, d.connection.timeoutMs);
    steps.push({ step: 'modbus.first-read', ok: true, detail: `unit ${d.connection.unitId} answered in ${clock.now() - sent} ms` });
  } catch (err) {
    const code = modbusCode(err);
    if (code === 10 || code === 11) {
      steps.push({
        step: 'modbus.first-read',
        ok: false,
        code: 'SFG_MODBUS_NO_UNIT',
        detail: `the gateway device at ${where} answered, but has no unit ${d.connection.unitId} behind it (exception ${code}): check the unit id and the serial side of the gateway device`,
      });
    } else if (code !== undefined) {
      steps.push({
        step: 'modbus.first-read',
        ok: true,
        code: 'SFG_MODBUS_EXCEPTION',
        detail: `unit ${d.connection.unitId} answered with exception ${code} for holding register 0 (it is there; that address may not exist)`,
      });
    } else steps.push({ step: 'modbus.first-read', ok: false, code: 'SFG_MODBUS_NO_ANSWER', detail: timeoutWords(d) });
  } finally {
    await link.close();
  }
  return steps;
}

/** Reads the registers `samples` times and decodes them every way; an exception or silence is the answer. */
export async function readDecoded(d: ModbusConnection, q: ModbusReadQuery, clock: Clock, signal: AbortSignal): Promise<ModbusReadResult> {
  const link = await unitLink(d, clock, false, () => undefined);
  const samples: RawData[] = [];
  try {
    const n = q.samples ?? 1;
    for (let i = 0; i < n && !signal.aborted; i++) {
      if (i > 0) await sleep(clock, q.intervalMs ?? 500, signal);
      samples.push(await link.read(q.unitId, q.area, q.address, q.count, d.connection.timeoutMs));
    }
  } catch (err) {
    const code = modbusCode(err);
    const at = { unitId: q.unitId, area: q.area, address: q.address };
    return code === undefined ? { ...at, timeout: true } : { ...at, exception: code };
  } finally {
    await link.close();
  }
  return decodeAll(q.area, q.address, samples, q.hmi);
}
