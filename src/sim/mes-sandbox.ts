/**
 * A local stand-in for the Prodsmart MES, behaving as its reference docs say (docs/mes-api.md):
 * auth (Basic or `?access_token=` from /api/authorization, tokens expire), 120 requests per
 * minute per company with 429 + Retry-After, the three machine endpoints with their
 * validation (incremental counts, known codes, whole request refused if any part is
 * invalid). Used by the demo (`simulate`) and by tests, which read `state` and `requests`
 * to see exactly what was accepted. Faults can be injected: delay, down (503), fail next,
 * connection resets before or after the request is processed, and a network lag per request
 * before it arrives (`arrivalDelayMs`), which is when it counts for the rate limit.
 * GET /api/downtimes lists the downtimes its run/stop log opened and closed (`downtimesOf`).
 * It shares no code with src/uplink on purpose: it is the referee the client is tested against.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';

export interface SandboxMachineConfig {
  waste?: string[];
  downtimeTypes?: string[];
  /** Known parameter codes; absent = any code is accepted. */
  parameters?: string[];
}

export interface MesSandboxOptions {
  host?: string;
  port?: number;
  /** `accessToken`: a token the company already holds, valid until expireAll(). */
  credentials: { apiKey: string; apiSecret: string; accessToken?: string };
  machines: Record<string, SandboxMachineConfig>;
  /** Requests per sliding 60 s window, every request of the company counted. Default 120. */
  perMinute?: number;
  /** Default 2 h, as the MES. */
  tokenTtlMs?: number;
  /** Time of tokens, the rate window and the logs. Delays run on real timers (real sockets). */
  clock?: Clock;
  /** Delay of every answer, on real timers. */
  delayMs?: number;
  /**
   * Network lag of the n-th request (0-based), in ms: it counts as arriving (stamped and
   * rate-limited) that much later than its bytes reached the socket. Its answer is not held
   * back, so the sender is not slowed, as when other requests travel on other connections.
   */
  arrivalDelayMs?: (n: number) => number;
  /** false: a MES without GET /api/downtimes (answered 404). Default true. */
  downtimes?: boolean;
}

type ParameterValue = number | string | boolean;

export interface SandboxMachineState {
  /** Last accepted counter; undefined until the first. Tests may set it (MES ahead). */
  count: number | undefined;
  waste: Record<string, number>;
  /** Latest value per parameter name/code. */
  parameters: Record<string, ParameterValue>;
  parameterLog: { at: number; code: string; value: ParameterValue; via: 'counter' | 'parameters' }[];
  startstop: { at: number; type: string; running: 0 | 1 }[];
  counterLog: { at: number; count: number | undefined; waste: { code: string; quantity: number }[] }[];
}

interface SandboxRequest {
  /** Arrival: when the request reached the MES (after `arrivalDelayMs`); what the rate limit counts. */
  at: number;
  method: string;
  /** As received, still URL-encoded, without the query (it may hold a token). */
  path: string;
  status: number;
  /** The request body exactly as it came over the wire. */
  body?: string;
  auth?: 'basic' | 'token';
}

export interface MesSandbox {
  url: string;
  port: number;
  state: Record<string, SandboxMachineState>;
  /** Oldest first; this and the logs in `state` keep their newest 10 000 entries. */
  requests: SandboxRequest[];
  setDelay(ms: number): void;
  /** While down, every request is answered 503. */
  setDown(down: boolean): void;
  /** The next n requests, of any path, are answered with `status` and `headers` (e.g. a Retry-After; none by default). */
  setFailNext(n: number, status: number, headers?: Record<string, string>): void;
  /**
   * The next n requests lose their connection without an answer: `before` the MES saw them
   * (not processed, not in `requests`), or `after` it processed them (the answer is lost).
   */
  setResetNext(n: number, when: 'before' | 'after'): void;
  /** The most requests that arrived in any 60 s window; `of`: only those (e.g. one gateway's machines). */
  busiestMinute(of?: (r: SandboxRequest) => boolean): number;
  tokens: { expireAll(): void };
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body?: string;
  type?: string;
  headers?: Record<string, string>;
}

const WINDOW_MS = 60_000;
const MAX_BODY_BYTES = 1 << 20;
/** Entries kept per log: the demo sandbox may run for weeks. */
const MAX_LOG = 10_000;
const SCOPES = ['productions_write'];
/** Page size of GET /api/downtimes. */
const DOWNTIMES_PER_PAGE = 50;

const text = (status: number, body: string): Answer => ({ status, body, type: 'text/plain; charset=utf-8' });
const bad = (reason: string): Answer => text(400, reason);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isQuantity = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isValue = (v: unknown): v is ParameterValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

export async function startMesSandbox(opts: MesSandboxOptions): Promise<MesSandbox> {
  const clock = opts.clock ?? systemClock;
  const perMinute = opts.perMinute ?? 120;
  const tokenTtlMs = opts.tokenTtlMs ?? 2 * 60 * 60 * 1000;
  const basic = `Basic ${Buffer.from(`${opts.credentials.apiKey}:${opts.credentials.apiSecret}`).toString('base64')}`;
  const state: Record<string, SandboxMachineState> = {};
  for (const code of Object.keys(opts.machines)) {
    state[code] = { count: undefined, waste: {}, parameters: {}, parameterLog: [], startstop: [], counterLog: [] };
  }
  const requests: SandboxRequest[] = [];
  /** token → expiry time; insertion order = creation order. */
  const tokens = new Map<string, number>();
  if (opts.credentials.accessToken) tokens.set(opts.credentials.accessToken, Infinity);
  /** Admitted requests of the last minute. */
  let window: number[] = [];
  let delayMs = opts.delayMs ?? 0;
  let down = false;
  let failNext: { n: number; status: number; headers?: Record<string, string> } = { n: 0, status: 500 };
  let resetNext: { n: number; when: 'before' | 'after' } = { n: 0, when: 'after' };
  let received = 0;
  const pending = new Set<NodeJS.Timeout>();

  function validToken(token: string, now: number): boolean {
    if ((tokens.get(token) ?? 0) > now) return true;
    tokens.delete(token);
    return false;
  }

  /** Seconds until a slot frees, or 0 after admitting the request. */
  function rateLimit(now: number): number {
    // Sorted: with injected lag, arrivals need not come in the order of their requests.
    window = window.filter((t) => t > now - WINDOW_MS);
    if (window.length >= perMinute) return Math.max(1, Math.ceil((window[window.length - perMinute] + WINDOW_MS - now) / 1000));
    window.push(now);
    window.sort((a, b) => a - b);
    return 0;
  }

  function authorization(method: string, headers: IncomingHttpHeaders, raw: string, entry: SandboxRequest): Answer {
    if (headers.authorization !== basic) return unauthorized();
    entry.auth = 'basic';
    const now = entry.at;
    const answer = (status: number, token: string): Answer => ({
      status,
      type: 'application/json',
      headers: { link: '</api/authorizations>;rel="self"' },
      body: JSON.stringify({ _links: { self: { href: '/api/authorizations' } }, scopes: SCOPES, token }),
    });
    if (method === 'GET') {
      const current = [...tokens.keys()].filter((t) => validToken(t, now)).at(-1);
      return current === undefined ? text(404, 'no authorization token exists: create one with POST') : answer(200, current);
    }
    if (method === 'POST') {
      const body = parseJson(raw);
      if (body === undefined) return bad('Invalid JSON');
      const scopes = isObject(body) ? body.scopes : undefined;
      if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => SCOPES.includes(s as string))) {
        return bad(`scopes must be a list of: ${SCOPES.join(', ')}`);
      }
      const token = randomBytes(16).toString('hex');
      tokens.set(token, now + tokenTtlMs);
      return answer(201, token);
    }
    if (method === 'DELETE') {
      tokens.clear();
      return { status: 204 };
    }
    return { ...text(405, 'Method Not Allowed'), headers: { allow: 'GET, POST, DELETE' } };
  }

  function machineEndpoint(code: string, endpoint: string, raw: string, at: number): Answer {
    const body = parseJson(raw);
    if (body === undefined) return bad('Invalid JSON');
    if (!Object.hasOwn(state, code)) return bad(`machine ${code} not found`);
    if (!isObject(body)) return bad('the body must be a JSON object');
    const ctx = { code, m: state[code], config: opts.machines[code], at };
    if (endpoint === 'counter') return counter(ctx, body);
    if (endpoint === 'parameters') return parameters(ctx, body);
    return startstop(ctx, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = clock.now() + (opts.arrivalDelayMs?.(received++) ?? 0);
    const raw = await readBody(req);
    const reset = resetNext.n > 0 ? resetNext.when : undefined;
    if (reset) resetNext.n--;
    if (reset === 'before') return void req.socket.destroy();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    const entry: SandboxRequest = { at: arrivedAt, method, path: url.pathname, status: 0 };
    if (raw) entry.body = raw;
    log(requests, entry);
    const answer = raw === undefined ? { ...text(413, 'Payload Too Large'), headers: { connection: 'close' } } : route(method, url, req.headers, raw, entry);
    entry.status = answer.status;
    if (reset === 'after') return void req.socket.destroy();
    const reply = () => {
      if (res.destroyed) return;
      res.writeHead(answer.status, { ...(answer.type ? { 'content-type': answer.type } : {}), ...answer.headers });
      res.end(answer.body);
    };
    if (delayMs <= 0) return reply();
    const h = setTimeout(() => {
      pending.delete(h);
      reply();
    }, delayMs);
    pending.add(h);
  }

  function route(method: string, url: URL, headers: IncomingHttpHeaders, raw: string, entry: SandboxRequest): Answer {
    // Injected faults stand for a broken proxy or an outage: they never reach the rate counter.
    if (failNext.n > 0) {
      failNext.n--;
      return { ...text(failNext.status, `injected failure ${failNext.status}`), headers: failNext.headers };
    }
    if (down) return text(503, 'Service Unavailable');
    const wait = rateLimit(entry.at);
    if (wait > 0) return { ...text(429, 'Too Many Requests'), headers: { 'retry-after': String(wait) } };
    if (url.pathname === '/api/authorization') return authorization(method, headers, raw, entry);
    if (url.pathname === '/api/downtimes' && opts.downtimes !== false) return downtimesEndpoint(method, url, entry);
    const match = /^\/api\/machines\/([^/]+)\/(counter|parameters|startstop)$/.exec(url.pathname);
    if (!match) return text(404, 'Not Found');
    if (method !== 'POST') return { ...text(405, 'Method Not Allowed'), headers: { allow: 'POST' } };
    const token = url.searchParams.get('access_token');
    if (token !== null) {
      if (!validToken(token, entry.at)) return unauthorized();
      entry.auth = 'token';
    } else if (headers.authorization === basic) {
      entry.auth = 'basic';
    } else {
      return unauthorized();
    }
    let code: string;
    try {
      code = decodeURIComponent(match[1]);
    } catch {
      return bad('malformed machine code in the path');
    }
    return machineEndpoint(code, match[2], raw, entry.at);
  }

  /** GET /api/downtimes: token only, as the reference says (it needs scope productions_write). */
  function downtimesEndpoint(method: string, url: URL, entry: SandboxRequest): Answer {
    if (method !== 'GET') return { ...text(405, 'Method Not Allowed'), headers: { allow: 'GET' } };
    const token = url.searchParams.get('access_token');
    if (token === null || !validToken(token, entry.at)) return unauthorized();
    entry.auth = 'token';
    const bound = (name: string): number | undefined | null => {
      const v = url.searchParams.get(name);
      if (v === null) return undefined;
      const t = Date.parse(v);
      return Number.isNaN(t) ? null : t;
    };
    const filters = {
      startAfter: bound('start-time-after'),
      startBefore: bound('start-time-before'),
      endAfter: bound('end-time-after'),
      endBefore: bound('end-time-before'),
    };
    const badFilter = Object.entries(filters).find(([, v]) => v === null);
    if (badFilter) return bad(`${badFilter[0]} must be an ISO date`);
    const page = url.searchParams.has('page') ? Number(url.searchParams.get('page')) : 1;
    if (!Number.isSafeInteger(page) || page < 1) return bad('page must be a positive integer');
    const { startAfter, startBefore, endAfter, endBefore } = filters as Record<string, number | undefined>;
    const all = Object.keys(state)
      .flatMap((code) => downtimesOf(code, state[code].startstop))
      .filter((d) => (startAfter === undefined || d.start >= startAfter) && (startBefore === undefined || d.start <= startBefore))
      .filter(
        (d) =>
          (endAfter === undefined || (d.end !== undefined && d.end >= endAfter)) && (endBefore === undefined || (d.end !== undefined && d.end <= endBefore)),
      )
      .sort((a, b) => a.start - b.start);
    const body = all.slice((page - 1) * DOWNTIMES_PER_PAGE, page * DOWNTIMES_PER_PAGE).map((d, i) => ({
      id: (page - 1) * DOWNTIMES_PER_PAGE + i + 1,
      'start-time': new Date(d.start).toISOString(),
      'end-time': d.end === undefined ? null : new Date(d.end).toISOString(),
      machines: [{ code: d.machine, name: d.machine }],
      'downtime-type': { code: d.type },
    }));
    return { status: 200, type: 'application/json', body: JSON.stringify(body) };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.destroyed) return; // the client went away mid-request
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`sandbox error: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    state,
    requests,
    setDelay: (ms) => {
      delayMs = ms;
    },
    setDown: (d) => {
      down = d;
    },
    setFailNext: (n, status, headers) => {
      failNext = { n, status, headers };
    },
    setResetNext: (n, when) => {
      resetNext = { n, when };
    },
    busiestMinute: (of) => {
      const at = (of ? requests.filter(of) : requests).map((r) => r.at).sort((a, b) => a - b);
      let max = 0;
      for (let i = 0, j = 0; i < at.length; i++) {
        while (at[i] - at[j] >= WINDOW_MS) j++;
        max = Math.max(max, i - j + 1);
      }
      return max;
    },
    tokens: { expireAll: () => tokens.clear() },
    close: () =>
      new Promise<void>((resolve) => {
        for (const h of pending) clearTimeout(h);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Ctx {
  code: string;
  m: SandboxMachineState;
  config: SandboxMachineConfig;
  at: number;
}

function counter({ code, m, config, at }: Ctx, body: Record<string, unknown>): Answer {
  const { count, waste = [], parameters = [] } = body;
  if (!Array.isArray(waste)) return bad('waste must be a list');
  if (count === undefined && waste.length === 0) return bad('count is required unless waste is given');
  if (count !== undefined) {
    if (!isQuantity(count)) return bad('count must be a non-negative integer');
    if (m.count !== undefined && count <= m.count) return bad(`count ${count} is not greater than the current counter ${m.count}`);
  }
  const accepted: { code: string; quantity: number }[] = [];
  for (const w of waste) {
    if (!isObject(w) || typeof w.code !== 'string') return bad('each waste needs a code');
    if (!(config.waste ?? []).includes(w.code)) return bad(`waste ${w.code} not found for machine ${code}`);
    if (accepted.some((a) => a.code === w.code)) return bad(`waste ${w.code} is listed twice`);
    if (!isQuantity(w.quantity)) return bad(`waste ${w.code}: quantity must be a non-negative integer`);
    const current = m.waste[w.code];
    if (current !== undefined && w.quantity <= current) {
      return bad(`waste ${w.code} quantity ${w.quantity} is not greater than the current quantity ${current}`);
    }
    accepted.push({ code: w.code, quantity: w.quantity });
  }
  const params = checkParameters(code, config, parameters, 'name');
  if (typeof params === 'string') return bad(params);

  if (count !== undefined) m.count = count;
  for (const w of accepted) m.waste[w.code] = w.quantity;
  log(m.counterLog, { at, count, waste: accepted });
  applyParameters(m, params, at, 'counter');
  return { status: 200, type: 'application/json', body: JSON.stringify(m.count ?? 0) };
}

function parameters({ code, m, config, at }: Ctx, body: Record<string, unknown>): Answer {
  if (!Array.isArray(body.parameters) || body.parameters.length === 0) return bad('parameters must be a non-empty list');
  const params = checkParameters(code, config, body.parameters, 'code');
  if (typeof params === 'string') return bad(params);
  applyParameters(m, params, at, 'parameters');
  return { status: 200 };
}

function startstop({ code, m, config, at }: Ctx, body: Record<string, unknown>): Answer {
  const { type, running } = body;
  if (typeof type !== 'string' || type === '') return bad('type is required');
  if (!(config.downtimeTypes ?? []).includes(type)) return bad(`downtime type ${type} is not assigned to machine ${code}`);
  if (running !== 0 && running !== 1) return bad('running must be 0 or 1');
  log(m.startstop, { at, type, running });
  return { status: 200 };
}

/**
 * The downtimes the MES holds for a machine, from its run/stop log: a running=0 opens one
 * (start = receipt), the next running=1 closes it. A running=0 while one is open, or a
 * running=1 while none is, changes nothing (the log keeps it, so tests see the double).
 */
function downtimesOf(machine: string, log: SandboxMachineState['startstop']): { machine: string; type: string; start: number; end?: number }[] {
  const out: { machine: string; type: string; start: number; end?: number }[] = [];
  let open: (typeof out)[number] | undefined;
  for (const e of log) {
    if (e.running === 0 && !open) {
      open = { machine, type: e.type, start: e.at };
      out.push(open);
    } else if (e.running === 1 && open) {
      open.end = e.at;
      open = undefined;
    }
  }
  return out;
}

/** The counter endpoint names parameters by `name`, the parameters endpoint by `code`. */
function checkParameters(
  machine: string,
  config: SandboxMachineConfig,
  list: unknown,
  key: 'name' | 'code',
): { code: string; value: ParameterValue }[] | string {
  if (!Array.isArray(list)) return 'parameters must be a list';
  const out: { code: string; value: ParameterValue }[] = [];
  for (const p of list) {
    const code = isObject(p) ? p[key] : undefined;
    if (typeof code !== 'string' || code === '') return `each parameter needs a "${key}"`;
    if (config.parameters && !config.parameters.includes(code)) return `parameter ${code} not found for machine ${machine}`;
    const value = (p as Record<string, unknown>).value;
    if (!isValue(value)) return `parameter ${code} needs a value (number, string or boolean)`;
    out.push({ code, value });
  }
  return out;
}

function applyParameters(m: SandboxMachineState, list: { code: string; value: ParameterValue }[], at: number, via: 'counter' | 'parameters'): void {
  for (const { code, value } of list) {
    m.parameters[code] = value;
    log(m.parameterLog, { at, code, value, via });
  }
}

function log<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > MAX_LOG) list.splice(0, list.length - MAX_LOG);
}

function unauthorized(): Answer {
  return { ...text(401, 'Unauthorized'), headers: { 'www-authenticate': 'Basic realm="Prodsmart"' } };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** The whole body as text; undefined when it is larger than the sandbox accepts. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
