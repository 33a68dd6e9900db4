/**
 * CommissionTools (core/commission.ts) from the adapters' commissioning modules: what the
 * `/api/commission/*` routes call to talk to devices. Read only throughout (the Modbus
 * client refuses writes, the OPC UA session refuses write and call). A unit scan holds its
 * serial line: the devices on it show `paused: 'commissioning'` until it ends, however it ends.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import * as z from 'zod';
import type { Random } from '../core/backoff.js';
import type { Clock } from '../core/clock.js';
import type { CommissionTools, Job, JobKind, ModbusReadQuery, RegisterScanResult, TopicResult, UnitScanResult } from '../core/commission.js';
import { GatewayError } from '../core/errors.js';
import { deviceConnectionSchema, type DeviceConfig, type DeviceConnection } from '../config/schema.js';
import { adapterFactory } from '../adapters/registry.js';
import type { AdapterSink, ProbeRow } from '../adapters/types.js';
import { CommissionJobs } from './commission-jobs.js';

export interface CommissionToolsOptions {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** A device's own folder (OPC UA certificates), as the adapters use it. */
  stateDir: (device: string) => string;
  /** The running configuration's devices. */
  devices: () => DeviceConfig[];
  /** Shows devices paused for commissioning on the status page, or running again. */
  pause: (devices: string[], paused: boolean) => void;
  newId: () => string;
}

const bad = (message: string) => new GatewayError('SFG_COMMISSION_BAD_REQUEST', message);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw bad(`${what}: ${issue.path.join('.') || 'value'}: ${issue.message}`);
}

const connectionOf = (device: unknown): DeviceConnection => parse(deviceConnectionSchema, device, 'device');

const unitsParams = z.object({ device: z.unknown(), from: z.number().int().min(1).max(247).default(1), to: z.number().int().min(1).max(247).default(247) });
const registersParams = z.object({
  device: z.unknown(),
  unitId: z.number().int().min(0).max(255).optional(),
  area: z.enum(['holding', 'input', 'coil', 'discrete']),
  from: z.number().int().min(0).max(65535),
  to: z.number().int().min(0).max(65535),
  block: z.number().int().min(1).optional(),
  ratePerS: z.number().min(0.5).max(50).default(20),
});
const listenParams = z.object({ device: z.unknown(), prefix: z.string().default(''), seconds: z.number().min(1).max(120).default(10) });
const readExtras = z.object({
  hmi: z.string().max(64).optional(),
  samples: z.number().int().min(1).max(20).default(1),
  intervalMs: z.number().int().min(100).max(2000).default(500),
});

/** Longest unit timeout of a unit scan: 247 silent ids must stay a matter of minutes. */
const UNIT_SCAN_MAX_TIMEOUT_MS = 500;

/** probe() gets its values back; the background reporting of an adapter is not wanted. */
const ignore: AdapterSink = { readings() {}, signalError() {}, connection() {} };

export function createCommissionTools(o: CommissionToolsOptions): CommissionTools {
  const jobs = new CommissionJobs({ clock: o.clock, logger: o.logger, newId: o.newId });
  const scanning = new Set<string>();
  const warn = (message: string) => o.logger.warn({ event: 'commission.serial_settings' }, message);
  const stateDir = (device: string) => {
    const dir = o.stateDir(device);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  const modbus = async () => {
    const [m, scan] = await Promise.all([import('../adapters/modbus/commission.js'), import('../adapters/modbus/scan.js')]);
    return { ...m, scan };
  };
  const modbusOf = async (device: unknown) => {
    const d = connectionOf(device);
    const m = await modbus();
    if (!m.isModbusConnection(d)) throw bad(`device: a Modbus device is needed here, not ${d.protocol}`);
    return { d, m };
  };
  const opcuaOf = async (device: unknown) => {
    const d = connectionOf(device);
    if (d.protocol !== 'opcua') throw bad(`device: an OPC UA device is needed here, not ${d.protocol}`);
    const [session, browse] = await Promise.all([import('../adapters/opcua/commission.js'), import('../adapters/opcua/browse.js')]);
    return { d, session, browse, dir: stateDir(d.device) };
  };

  /** The running devices on a serial path: their polling waits during a unit scan there. */
  const devicesOnPath = (path: string) => o.devices().flatMap((d) => (d.protocol === 'modbus-rtu' && d.connection.path === path ? [d.device] : []));

  function unitsJob(params: unknown): Job {
    const p = parse(unitsParams, params, 'params');
    if (p.from > p.to) throw bad('params: from must not be above to');
    const d = connectionOf(p.device);
    const key = d.protocol === 'modbus-rtu' ? d.connection.path : JSON.stringify(d.connection);
    if (scanning.has(key)) throw new GatewayError('SFG_COMMISSION_BUSY', 'a unit scan of this line is running already');
    scanning.add(key);
    try {
      return jobs.start<UnitScanResult>('modbus.units', async (w) => {
        const { d: conn, m } = await modbusOf(p.device);
        const paused = conn.protocol === 'modbus-rtu' ? devicesOnPath(conn.connection.path) : [];
        try {
          const link = await m.unitLink(conn, o.clock, true, warn);
          if (paused.length > 0) o.pause(paused, true);
          try {
            const maxTimeoutMs = Math.min(conn.connection.timeoutMs, UNIT_SCAN_MAX_TIMEOUT_MS);
            await m.scan.scanUnits(link, { clock: o.clock, signal: w.signal, from: p.from, to: p.to, maxTimeoutMs }, { results: w.add, progress: w.progress });
          } finally {
            await link.close();
          }
        } finally {
          if (paused.length > 0) o.pause(paused, false);
          scanning.delete(key);
        }
      });
    } catch (err) {
      scanning.delete(key);
      throw err;
    }
  }

  function registersJob(params: unknown): Job {
    const p = parse(registersParams, params, 'params');
    if (p.from > p.to) throw bad('params: from must not be above to');
    const d = connectionOf(p.device);
    if (d.protocol !== 'modbus-tcp' && d.protocol !== 'modbus-rtu-over-tcp' && d.protocol !== 'modbus-rtu')
      throw bad(`device: a Modbus device is needed here, not ${d.protocol}`);
    return jobs.start<RegisterScanResult>('modbus.registers', async (w) => {
      const { d: conn, m } = await modbusOf(p.device);
      const link = await m.unitLink(conn, o.clock, false, warn);
      try {
        const scan = {
          unitId: p.unitId ?? conn.connection.unitId,
          area: p.area,
          from: p.from,
          to: p.to,
          block: p.block,
          timeoutMs: conn.connection.timeoutMs,
          ratePerS: p.ratePerS,
        };
        await m.scan.scanRegisters(link, scan, { clock: o.clock, signal: w.signal }, { results: w.add, progress: w.progress });
      } finally {
        await link.close();
      }
    });
  }

  function listenJob(params: unknown): Job {
    const p = parse(listenParams, params, 'params');
    const d = connectionOf(p.device);
    if (d.protocol !== 'mqtt') throw bad(`device: an MQTT device is needed here, not ${d.protocol}`);
    return jobs.start<TopicResult>('mqtt.listen', async (w) => {
      const { listenTopics } = await import('../adapters/mqtt/commission.js');
      await listenTopics(d, { prefix: p.prefix, seconds: p.seconds, clock: o.clock, signal: w.signal }, w.results, (done, total) =>
        w.progress(done, total, total - done),
      );
    });
  }

  const starters: Record<JobKind, (params: unknown) => Job> = { 'modbus.units': unitsJob, 'modbus.registers': registersJob, 'mqtt.listen': listenJob };

  return {
    async serialPorts() {
      const { listSerialPorts } = await import('../adapters/modbus/serial-ports.js');
      return listSerialPorts();
    },

    async check(device) {
      const d = connectionOf(device);
      if (d.protocol === 'opcua') {
        const { checkOpcua } = await import('../adapters/opcua/commission.js');
        return checkOpcua(d, stateDir(d.device), o.clock);
      }
      if (d.protocol === 'mqtt') {
        const { checkMqtt } = await import('../adapters/mqtt/commission.js');
        return checkMqtt(d);
      }
      const { checkModbus } = await import('../adapters/modbus/commission.js');
      return checkModbus(d, o.clock);
    },

    startJob(kind, params) {
      const start = starters[kind];
      if (!start) throw bad(`unknown job kind ${String(kind)}`);
      return start(params);
    },

    async modbusRead(device, q) {
      const { d, m } = await modbusOf(device);
      const extras = parse(readExtras, q, 'query');
      const query: ModbusReadQuery = { unitId: q.unitId, area: q.area, address: q.address, count: q.count, ...extras };
      return m.readDecoded(d, query, o.clock, new AbortController().signal);
    },

    async opcuaBrowse(device, nodeId) {
      const { d, session, browse, dir } = await opcuaOf(device);
      return session.withReadSession(d, dir, o.clock, (s) => browse.browseNode(s, nodeId));
    },

    async opcuaRead(device, nodeId) {
      const { d, session, browse, dir } = await opcuaOf(device);
      return session.withReadSession(d, dir, o.clock, (s) => browse.readNode(s, nodeId));
    },

    async opcuaSearch(device, text, limits) {
      const { d, session, browse, dir } = await opcuaOf(device);
      return session.withReadSession(d, dir, o.clock, (s) => browse.searchNodes(s, text, limits));
    },

    async probe(deviceName): Promise<ProbeRow[]> {
      const device = o.devices().find((d) => d.device === deviceName);
      if (!device) throw new GatewayError('SFG_COMMISSION_NOT_FOUND', `no running device "${deviceName}"`);
      const create = await adapterFactory(device.protocol);
      const adapter = create(device, { sink: ignore, logger: o.logger, clock: o.clock, random: o.random, stateDir: stateDir(device.device) });
      try {
        return await adapter.probe();
      } finally {
        await adapter.stop();
      }
    },
  };
}
