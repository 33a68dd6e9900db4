/**
 * `/api/commission/*` (docs/commissioning.md): every route is refused unless a window is
 * open and the request shows its session cookie; every POST also needs the session's CSRF
 * token in `x-csrf-token` (the same-origin check is the server's, before this). The device
 * work is CommissionTools' (passed in by the gateway); files, backups and reports are here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import * as z from 'zod';
import type { Clock } from '../../core/clock.js';
import type { CommissionTools, Job, JobKind } from '../../core/commission.js';
import { errorCode } from '../../core/errors.js';
import { formatPath } from '../../config/errors.js';
import { validate } from '../../config/issues.js';
import type { LoadedDevice } from '../../config/load.js';
import { deviceSchema, type DeviceConfig } from '../../config/schema.js';
import { parse } from 'yaml';
import { readCookie } from '../auth.js';
import { clientAddress, viaHttps } from '../client.js';
import { BodyTooLarge, readBody, sendJson, sendText } from '../http-util.js';
import { type DeviceFileCode, DeviceFileError, DeviceFiles } from './device-files.js';
import { MASK, maskSecrets } from './mask.js';
import { checkEdit, type MesBodyPreviewer, preview } from './preview.js';
import { COMMISSION_PREFIX, sendCommissionError } from './reply.js';
import { reportHtml, reportRequest, Reports } from './report.js';
import { type CommissionSession, CommissionSessions } from './session.js';

const COOKIE = 'sfg_commission';
const MAX_BODY = 256 * 1024;
/** Jobs kept for the page to poll; the oldest finished ones go first. */
const MAX_JOBS = 50;
const OPCUA_SEARCH_MAX_NODES = 2000;

/** The tools' errors about the request itself; any other code is the device's answer (502). */
const TOOL_ERROR_STATUS: Record<string, number> = {
  SFG_COMMISSION_BAD_REQUEST: 400,
  SFG_COMMISSION_SCAN_TOO_BIG: 400,
  SFG_COMMISSION_NOT_FOUND: 404,
  SFG_COMMISSION_BUSY: 409,
};

const FILE_ERROR_STATUS: Record<DeviceFileCode, number> = {
  SFG_COMMISSION_BAD_REQUEST: 400,
  SFG_COMMISSION_CONFLICT: 409,
  SFG_COMMISSION_NOT_FOUND: 404,
  SFG_COMMISSION_READ_ONLY: 403,
};

export interface CommissionOptions {
  /** `<storage folder>/commission` (grant.ts `commissionDir`). */
  dir: string;
  /** The devices folder and the device files the gateway runs now (they follow reloads): the cross-file checks of a preview or save. */
  running: () => { devicesDir: string; devices: readonly LoadedDevice[] };
  previewer: MesBodyPreviewer;
  /** Undefined where the gateway has none: those routes answer SFG_COMMISSION_UNAVAILABLE. */
  tools?: CommissionTools;
  clock: Clock;
}

export type CommissionHandler = (req: IncomingMessage, res: ServerResponse, path: string, method: string) => Promise<void>;

class RouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const bad = (message: string, extra?: Record<string, unknown>) => new RouteError(400, 'SFG_COMMISSION_BAD_REQUEST', message, extra);

export function createCommissionRoutes(o: CommissionOptions, logger: Logger): CommissionHandler {
  const sessions = new CommissionSessions(o.dir, o.clock);
  const reports = new Reports(join(o.dir, 'reports'));
  const jobs = new Map<string, Job>();

  const tools = (): CommissionTools => {
    if (!o.tools) throw new RouteError(501, 'SFG_COMMISSION_UNAVAILABLE', 'device tools are not available in this gateway');
    return o.tools;
  };
  const devices = () => o.running().devices;
  const loaded = (name: string) => devices().find((d) => d.config.device === name)?.config;
  /**
   * The device a device route works on: the id of a running device (the page has only its
   * masked YAML), or a device object from the page, validated, its masked secrets taken from
   * the running device of that id. A new device has no machines yet: one placeholder lets the
   * connection be validated by the device schema.
   */
  const deviceArg = (value: unknown): DeviceConfig => {
    if (typeof value === 'string') {
      const saved = loaded(value);
      if (!saved) throw new RouteError(404, 'SFG_COMMISSION_NOT_FOUND', `no running device "${value}"`);
      return saved;
    }
    const withMachines = value !== null && typeof value === 'object' && !('machines' in value) ? { ...value, machines: [{ code: 'commissioning' }] } : value;
    const result = validate(deviceSchema, withMachines);
    if (!result.ok) {
      throw bad('device is not valid', { problems: result.problems.map((p) => ({ path: formatPath(p.path), message: p.message })) });
    }
    const device = result.value;
    const connection = device.connection as { password?: string };
    if (connection.password === MASK) {
      const saved = (loaded(device.device)?.connection as { password?: string } | undefined)?.password;
      if (saved === undefined) throw bad('connection.password is masked and no saved device has it: type it');
      connection.password = saved;
    }
    return device;
  };
  const jobView = ({ abort: _, ...job }: Job) => job;
  const keepJob = (job: Job) => {
    jobs.set(job.id, job);
    for (const [id, j] of jobs) {
      if (jobs.size <= MAX_JOBS) break;
      if (j.state !== 'running') jobs.delete(id);
    }
  };
  const jobOf = (id: string) => {
    const job = jobs.get(id);
    if (!job) throw new RouteError(404, 'SFG_COMMISSION_NOT_FOUND', `no job ${id}`);
    return job;
  };

  type Ctx = {
    req: IncomingMessage;
    res: ServerResponse;
    session: CommissionSession;
    query: URLSearchParams;
    body: () => Promise<unknown>;
    files: DeviceFiles;
  };
  const routes: Record<string, (c: Ctx) => Promise<unknown> | unknown> = {
    'GET devices': ({ files }) =>
      files.list().map((file) => {
        const text = files.read(file) ?? '';
        const head = headOf(text);
        return { file, name: head.device, protocol: head.protocol, yaml: maskSecrets(text), hash: files.hash(file) };
      }),
    'GET serial-ports': () => tools().serialPorts(),
    'POST check': async (c) => ({ steps: await tools().check(deviceArg(field(await c.body(), 'device'))) }),
    'POST jobs': async (c) => {
      const body = z
        .strictObject({ kind: z.enum(['modbus.units', 'modbus.registers', 'mqtt.listen']), params: z.record(z.string(), z.unknown()) })
        .safeParse(await c.body());
      if (!body.success) throw bad('expected {kind: modbus.units | modbus.registers | mqtt.listen, params: {...}}');
      const params = 'device' in body.data.params ? { ...body.data.params, device: deviceArg(body.data.params.device) } : body.data.params;
      const job = tools().startJob(body.data.kind as JobKind, params);
      keepJob(job);
      return jobView(job);
    },
    'POST modbus/read': async (c) => {
      const body = await c.body();
      const q = z
        .object({
          unitId: z.number().int().min(0).max(255),
          area: z.enum(['holding', 'input', 'coil', 'discrete']),
          address: z.number().int().min(0).max(65535),
          count: z.number().int().min(1).max(125),
          // What the HMI shows, and reads over time: the decodings that match, likely counters and run/stop bits.
          hmi: z.string().max(64).optional(),
          samples: z.number().int().min(1).max(20).optional(),
          intervalMs: z.number().int().min(100).max(2000).optional(),
        })
        .safeParse(body);
      if (!q.success) throw bad('expected {device, unitId, area, address, count (1-125)}');
      return tools().modbusRead(deviceArg(field(body, 'device')), q.data);
    },
    'POST opcua/browse': async (c) => {
      const body = await c.body();
      const nodeId = optionalString(body, 'nodeId');
      return tools().opcuaBrowse(deviceArg(field(body, 'device')), nodeId);
    },
    'POST opcua/read': async (c) => {
      const body = await c.body();
      return tools().opcuaRead(deviceArg(field(body, 'device')), requiredString(body, 'nodeId'));
    },
    'POST opcua/search': async (c) => {
      const body = await c.body();
      return tools().opcuaSearch(deviceArg(field(body, 'device')), requiredString(body, 'text'), { maxNodes: OPCUA_SEARCH_MAX_NODES });
    },
    'POST preview': async (c) => {
      const { files } = c;
      const body = await c.body();
      return preview(files, devices(), o.previewer, requiredString(body, 'file'), requiredString(body, 'yaml'));
    },
    'POST save': async (c) => {
      const { files } = c;
      const body = await c.body();
      const [file, yaml] = [requiredString(body, 'file'), requiredString(body, 'yaml')];
      const baseHash = field(body, 'baseHash');
      if (baseHash !== null && typeof baseHash !== 'string') throw bad('baseHash: the hash the file was loaded with, or null for a new file');
      const { text, problems } = checkEdit(files, devices(), file, yaml);
      if (problems.length > 0) throw new RouteError(422, 'SFG_COMMISSION_INVALID', `${file} is not valid: nothing saved`, { problems });
      const saved = files.save(file, text, baseHash);
      logger.info(
        { event: 'commission.saved', file, session: c.session.tag, client: clientAddress(c.req), backup: saved.backup, hash: saved.hash },
        'commissioning saved %s',
        file,
      );
      return saved;
    },
    'GET backups': (c) => c.files.backups(requiredString({ file: c.query.get('file') }, 'file')),
    'POST rollback': async (c) => {
      const { files } = c;
      const body = await c.body();
      const [file, id] = [requiredString(body, 'file'), requiredString(body, 'id')];
      const { text, problems } = checkEdit(files, devices(), file, files.backup(file, id));
      if (problems.length > 0)
        throw new RouteError(422, 'SFG_COMMISSION_INVALID', `backup ${id} is not valid with the other device files now: nothing changed`, { problems });
      const saved = files.save(file, text, files.hash(file));
      logger.info(
        { event: 'commission.rolled_back', file, to: id, session: c.session.tag, client: clientAddress(c.req), backup: saved.backup, hash: saved.hash },
        'commissioning rolled %s back to %s',
        file,
        id,
      );
      return saved;
    },
    'GET probe': (c) => {
      const name = c.query.get('device') ?? '';
      if (!loaded(name)) throw new RouteError(404, 'SFG_COMMISSION_NOT_FOUND', `no running device "${name}"`);
      return tools().probe(name);
    },
    'POST report': async (c) => {
      const body = reportRequest.safeParse(await c.body());
      if (!body.success) throw bad('expected {device, checklist: [{item, ok, detail?}], by?}');
      const savedAt = new Date(o.clock.now()).toISOString();
      reports.save({ ...body.data, savedAt, session: c.session.tag });
      logger.info(
        { event: 'commission.report_saved', device: body.data.device, session: c.session.tag, passed: body.data.checklist.every((x) => x.ok) },
        'commissioning report saved',
      );
      return { savedAt };
    },
  };

  return async (req, res, path, method) => {
    try {
      const name = path.slice(COMMISSION_PREFIX.length);
      const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
      const body = async () => parseJson(await readBody(req, MAX_BODY));
      if (name === 'session') return await sessionRoute(req, res, method, body);
      const found = sessions.session(readCookie(req.headers.cookie, COOKIE));
      if ('refused' in found) return refuse(res, found.refused);
      if (method === 'POST' && req.headers['x-csrf-token'] !== found.csrf) {
        return sendCommissionError(res, 403, 'SFG_COMMISSION_CSRF', 'missing or wrong x-csrf-token header');
      }
      const files = new DeviceFiles(o.running().devicesDir, join(o.dir, 'backups'), o.clock);
      const ctx: Ctx = { req, res, session: found, query, body, files };
      const job = /^jobs\/([\w-]{1,64})(\/abort)?$/.exec(name);
      if (job) {
        if (method !== (job[2] ? 'POST' : 'GET')) return notAllowed(res, job[2] ? 'POST' : 'GET');
        const j = jobOf(job[1]);
        if (job[2]) j.abort();
        return sendJson(res, 200, jobView(j));
      }
      if (name === 'report' && method === 'GET') {
        const report = reports.read(query.get('device') ?? '');
        if (!report) return sendCommissionError(res, 404, 'SFG_COMMISSION_NOT_FOUND', `no report for device "${query.get('device') ?? ''}"`);
        return sendText(res, 200, reportHtml(report), 'text/html; charset=utf-8');
      }
      const route = Object.hasOwn(routes, `${method} ${name}`) ? routes[`${method} ${name}`] : undefined;
      if (!route) {
        const other = method === 'GET' ? 'POST' : 'GET';
        if (Object.hasOwn(routes, `${other} ${name}`)) return notAllowed(res, other);
        return sendCommissionError(res, 404, 'SFG_COMMISSION_NOT_FOUND', `no such route: ${path}`);
      }
      sendJson(res, 200, await route(ctx));
    } catch (err) {
      if (err instanceof RouteError) return sendCommissionError(res, err.status, err.code, err.message, err.extra);
      if (err instanceof DeviceFileError) return sendCommissionError(res, FILE_ERROR_STATUS[err.code], err.code, err.message);
      const code = errorCode(err);
      // A device that does not answer, a refused login: the device's error, not the gateway's.
      if (err instanceof BodyTooLarge) return sendCommissionError(res, 413, err.code, err.message);
      if (code !== undefined) return sendCommissionError(res, TOOL_ERROR_STATUS[code] ?? 502, code, (err as Error).message);
      throw err;
    }
  };

  async function sessionRoute(req: IncomingMessage, res: ServerResponse, method: string, body: () => Promise<unknown>): Promise<void> {
    if (method === 'GET') {
      const s = sessions.session(readCookie(req.headers.cookie, COOKIE));
      if ('refused' in s) return sendJson(res, 200, { active: false });
      return sendJson(res, 200, { active: true, expiresAt: s.expiresAt, leftMs: s.expiresAt - o.clock.now(), csrf: s.csrf });
    }
    if (method !== 'POST') return notAllowed(res, 'GET, POST');
    const token = optionalString(await body(), 'token') ?? '';
    const started = sessions.exchange(token);
    if ('refused' in started) {
      logger.warn({ event: 'commission.token_refused', client: clientAddress(req), reason: started.refused }, 'commissioning token refused');
      return refuse(res, started.refused);
    }
    const maxAge = Math.max(1, Math.floor((started.expiresAt - o.clock.now()) / 1000));
    res.setHeader(
      'set-cookie',
      `${COOKIE}=${started.id}; Path=/api/commission; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${viaHttps(req) ? '; Secure' : ''}`,
    );
    logger.info(
      { event: 'commission.session_started', session: started.tag, client: clientAddress(req), expiresAt: started.expiresAt },
      'commissioning session started',
    );
    sendJson(res, 200, { csrf: started.csrf, expiresAt: started.expiresAt });
  }
}

function refuse(res: ServerResponse, code: 'SFG_COMMISSION_OFF' | 'SFG_COMMISSION_TOKEN' | 'SFG_COMMISSION_SESSION'): void {
  const [status, message] = {
    SFG_COMMISSION_OFF: [403, 'commissioning is off: run `shopfloor-gateway commission` on the gateway box'],
    SFG_COMMISSION_TOKEN: [403, 'that commissioning token is wrong or was used already: run `shopfloor-gateway commission` again'],
    SFG_COMMISSION_SESSION: [401, 'no commissioning session: open the URL that `shopfloor-gateway commission` printed'],
  }[code] as [number, string];
  sendCommissionError(res, status, code, message);
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendCommissionError(res, 405, 'SFG_COMMISSION_BAD_REQUEST', `method not allowed, use ${allow}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw bad('the body is not JSON');
  }
}

function field(body: unknown, key: string): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  return (body as Record<string, unknown>)[key];
}

function requiredString(body: unknown, key: string): string {
  const value = field(body, key);
  if (typeof value !== 'string' || value === '') throw bad(`${key}: a non-empty string is required`);
  return value;
}

function optionalString(body: unknown, key: string): string | undefined {
  const value = field(body, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(`${key}: a string`);
  return value;
}

/** The id and protocol of a device file, as far as it says (a broken file still lists). */
function headOf(text: string): { device?: string; protocol?: string } {
  try {
    const data = parse(text) as Record<string, unknown> | null;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { device: str(data?.device), protocol: str(data?.protocol) };
  } catch {
    return {};
  }
}
