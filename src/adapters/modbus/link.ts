/**
 * A link to one Modbus unit: open, read a range of one area, close. Over TCP each device
 * owns its socket (this file); on a serial line the devices of one path share a bus
 * (bus.ts). Errors carry `modbusCode` when the unit answered with a Modbus exception;
 * any other error means the unit did not answer (timeout, connection lost).
 */
import { isBitArea, type ModbusArea, type RawData } from './decode.js';
import { ReadOnlyModbusClient } from './read-only.js';

/** The only Modbus client of the gateway: it refuses every function code but 1–4 (read-only.ts). */
export const ModbusClient = ReadOnlyModbusClient;
export type ModbusClient = ReadOnlyModbusClient;

export interface ModbusLink {
  open(): Promise<void>;
  read(area: ModbusArea, start: number, count: number): Promise<RawData>;
  /** Closes the connection; reads in flight reject at once. */
  close(): Promise<void>;
}

export interface TcpTarget {
  host: string;
  port: number;
  unitId: number;
  timeoutMs: number;
}

/** Exception code of a Modbus exception answer, or undefined for any other failure. */
export function modbusCode(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown } | null)?.modbusCode;
  return typeof code === 'number' ? code : undefined;
}

/** modbus-serial's errors are not all Error instances. */
export function errorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown } | null;
  if (e && typeof e.message === 'string' && e.message) return e.message;
  if (e && typeof e.code === 'string') return e.code;
  return String(err);
}

type ReadCallback = (err: unknown, res?: { data: RawData }) => void;

/** What modbus-serial keeps of each request it sent: not in its typings. */
interface Transactions {
  _transactions?: Record<string, { next?: unknown }>;
  _port?: { _transactionIdWrite?: number };
}

/**
 * modbus-serial keeps every request it sent, answered or not, under its transaction id until
 * that id comes round again (256 per TCP client), with our callback and through it the answer:
 * ~11 MB of heap at 50 devices (bench/footprint). Called once the request has its answer.
 */
function forget(client: ModbusClient, key: string, done: ReadCallback): void {
  const transactions = (client as Transactions)._transactions;
  if (transactions?.[key]?.next === done) delete transactions[key];
}

/** Sends one read request through modbus-serial's callback API, to the client's unit id. */
function send(client: ModbusClient, area: ModbusArea, start: number, count: number, done: ReadCallback): void {
  const unit = client.getID();
  switch (area) {
    case 'holding':
      client.writeFC3(unit, start, count, done);
      break;
    case 'input':
      client.writeFC4(unit, start, count, done);
      break;
    case 'coil':
      client.writeFC1(unit, start, count, done);
      break;
    case 'discrete':
      client.writeFC2(unit, start, count, done);
      break;
  }
}

/**
 * Tracks requests in flight so that a dropped connection fails them at once: modbus-serial
 * itself would leave them waiting for their timeout.
 */
export class InFlight {
  private readonly rejects = new Set<(e: Error) => void>();

  run<T>(op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.rejects.add(reject);
      op().then(
        (v) => {
          this.rejects.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.rejects.delete(reject);
          reject(e);
        },
      );
    });
  }

  /**
   * One read request; coil/discrete data is padded to whole bytes, cut to `count`. Through the
   * callback API: modbus-serial's promise API adds a promise, a bound function and two argument
   * arrays per request, a good part of a poll's cost (bench/polling.bench.ts).
   */
  read(client: ModbusClient, area: ModbusArea, start: number, count: number): Promise<RawData> {
    return new Promise<RawData>((resolve, reject) => {
      this.rejects.add(reject);
      // The id the request is stored under; a serial port has none (one slot, "undefined").
      const key = String((client as Transactions)._port?._transactionIdWrite);
      const done: ReadCallback = (err, res) => {
        forget(client, key, done);
        this.rejects.delete(reject);
        if (err || !res) reject(err);
        else resolve(isBitArea(area) ? res.data.slice(0, count) : res.data);
      };
      send(client, area, start, count, done);
    });
  }

  failAll(message: string): void {
    const rejects = [...this.rejects];
    this.rejects.clear();
    for (const reject of rejects) reject(new Error(message));
  }
}

/** Opens a client to host:port; `inFlight` lets a close end the connect in progress. */
async function connectTcp(target: { host: string; port: number; timeoutMs: number }, framing: 'mbap' | 'rtu', inFlight: InFlight): Promise<ModbusClient> {
  const c = new ModbusClient();
  c.setTimeout(target.timeoutMs); // also bounds the TCP connect
  c.on('error', () => undefined); // surfaces as a failed read or a close
  try {
    await inFlight.run(() => (framing === 'mbap' ? c.connectTCP(target.host, { port: target.port }) : c.connectTelnet(target.host, { port: target.port })));
  } catch (err) {
    c.destroy(() => undefined);
    throw new Error(`cannot connect to ${target.host}:${target.port}: ${errorText(err)}`, { cause: err });
  }
  return c;
}

/**
 * Modbus TCP (MBAP framing) or RTU-over-TCP (RTU frames with CRC on a raw socket, as
 * serial-to-Ethernet converters speak; modbus-serial calls that port "Telnet" — its
 * "TcpRTUBuffered" port sends MBAP headers, which RTU-over-TCP peers ignore).
 */
export function tcpLink(target: TcpTarget, framing: 'mbap' | 'rtu'): ModbusLink {
  let client: ModbusClient | undefined;
  const inFlight = new InFlight();

  const drop = (message: string) => {
    const c = client;
    client = undefined;
    inFlight.failAll(message);
    if (c) c.destroy(() => undefined);
  };

  return {
    async open() {
      drop('reconnecting');
      const c = await connectTcp(target, framing, inFlight);
      c.setID(target.unitId);
      c.on('close', () => {
        if (client === c) drop('connection closed by the peer');
      });
      client = c;
    },
    read(area, start, count) {
      const c = client;
      if (!c?.isOpen) return Promise.reject(new Error('not connected'));
      return inFlight.read(c, area, start, count);
    },
    async close() {
      drop('closed');
    },
  };
}

/** A connection that reads any unit id, each request with its own timeout: commissioning's scans. */
export interface UnitLink {
  read(unitId: number, area: ModbusArea, start: number, count: number, timeoutMs: number): Promise<RawData>;
  close(): Promise<void>;
}

/** A UnitLink over its own TCP connection (the adapter's keeps polling beside it). */
export async function tcpUnitLink(target: { host: string; port: number; timeoutMs: number }, framing: 'mbap' | 'rtu'): Promise<UnitLink> {
  const inFlight = new InFlight();
  const c = await connectTcp(target, framing, inFlight);
  c.on('close', () => inFlight.failAll('connection closed by the peer'));
  return {
    read(unitId, area, start, count, timeoutMs) {
      if (!c.isOpen) return Promise.reject(new Error('connection closed by the peer'));
      c.setID(unitId);
      c.setTimeout(timeoutMs);
      return inFlight.read(c, area, start, count);
    },
    async close() {
      inFlight.failAll('closed');
      c.destroy(() => undefined);
    },
  };
}
