/**
 * The status web server (node:http): page, /api/status, /api/events, dead-letter actions,
 * /metrics, /healthz. It only reads the provider, except for the two dead-letter actions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.js';
import { type Auth, createAuth, type Credential } from './auth.js';
import { COMMISSION_PREFIX, sendCommissionError } from './commission/reply.js';
import type { CommissionHandler, CommissionOptions } from './commission/routes.js';
import { clientAddress } from './client.js';
import { limitConnections } from './connection-limits.js';
import { createEventHub } from './events.js';
import { healthDegraded, healthProblems } from './health.js';
import { BodyTooLarge, redirect, sendJson, sendText } from './http-util.js';
import { formatUrl, isLoopback, isLoopbackHostHeader, parseListen } from '../core/net.js';
import { handleLogin, handleLogout, loginTexts, retryAfterSeconds } from './login.js';
import { LoginThrottle } from './login-throttle.js';
import type { Metrics } from './metrics.js';
import { loadStatic, serveStatic } from './static.js';
import type { StatusProvider } from '../core/status.js';

export interface WebServerOptions {
  /** `host:port` or `[v6]:port`; port 0 picks a free port. */
  listen: string;
  /** Required unless listen is a loopback address. */
  token?: string;
  provider: StatusProvider;
  /** Used as given: pass a child logger if you want a component field. */
  logger: Logger;
  /** Least time between two pushed status events; default 1000. */
  eventsMinIntervalMs?: number;
  /** Heartbeat period of /api/events; default 15000. */
  heartbeatMs?: number;
  /** Concurrent /api/events streams; more are answered 503 (the page then polls). Default 16. */
  maxEventClients?: number;
  /** Session expiry and login lockouts; default the system clock. */
  clock?: Clock;
  /** The commissioning routes (docs/commissioning.md); without them `/api/commission/*` is off. */
  commission?: CommissionOptions;
}

export interface WebServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A client must send its request headers within this, and the whole request (a login form at
 * most) within REQUEST_TIMEOUT_MS, so sockets that trickle or say nothing are shed within
 * seconds; node checks every CHECK_INTERVAL_MS.
 */
const HEADERS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;
const CHECK_INTERVAL_MS = 1000;

/** Served without login: the login form needs its stylesheet, icon, script and dictionaries. */
const PUBLIC = new Set(['/login', '/style.css', '/favicon.svg', '/login.js', '/i18n.js']);
const isPublic = (path: string) => PUBLIC.has(path) || /^\/lang\/[a-z]+\.(common|login)\.json$/.test(path);

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: with it, browsers send "Origin: null" on form POSTs, which sameOrigin() refuses.
  'referrer-policy': 'same-origin',
};

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const { host, port } = parseListen(opts.listen);
  if (!opts.token && !isLoopback(host)) {
    throw new Error(
      `web.listen ${opts.listen} can be reached from other machines, and the status page can drop dead letters: ` +
        'set web.token in gateway.yaml (at least 16 characters), or listen on 127.0.0.1',
    );
  }
  const { provider, logger: log } = opts;
  const clock = opts.clock ?? systemClock;
  const auth = opts.token ? createAuth(opts.token, clock) : undefined;
  const throttle = new LoginThrottle(clock, log);
  const files = loadStatic(new URL('./page/', import.meta.url));
  // The commissioning routes (yaml, diff, zod schemas of requests) load with their first request, not on the way to listening (bench/startup).
  let commission: Promise<CommissionHandler> | undefined;
  const loadCommission = (o: CommissionOptions) =>
    (commission ??= import('./commission/routes.js').then(({ createCommissionRoutes }) => createCommissionRoutes(o, log.child({ component: 'commission' }))));
  const texts = loginTexts(files);
  // prom-client loads with the first scrape, not on the way to listening (bench/startup).
  let metrics: Promise<Metrics> | undefined;
  const loadMetrics = () => (metrics ??= import('./metrics.js').then(({ createMetrics }) => createMetrics(provider)));
  const events = createEventHub(provider, {
    minIntervalMs: opts.eventsMinIntervalMs ?? 1000,
    heartbeatMs: opts.heartbeatMs ?? 15_000,
    maxClients: opts.maxEventClients,
    onError: (err) => log.error({ event: 'web.push_failed', err }, 'status event push failed'),
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // Without a token only loopback can connect, but a page on another site whose name is rebound
    // to 127.0.0.1 (DNS rebinding) can, and then Origin and Host both carry that site's name.
    if (!auth && !isLoopbackHostHeader(req.headers.host)) {
      return sendText(res, 421, 'misdirected request: without web.token this page answers only to http://127.0.0.1, localhost or [::1]\n');
    }
    const path = pathOf(req.url);
    if (path === undefined) return sendJson(res, 400, { error: 'malformed request target' });
    const method = req.method === 'HEAD' ? 'GET' : req.method;

    const commissioning = path.startsWith(COMMISSION_PREFIX);
    // Another site open in the same browser could otherwise POST here (CSRF).
    if (method === 'POST' && !sameOrigin(req)) {
      if (commissioning) return sendCommissionError(res, 403, 'SFG_COMMISSION_ORIGIN', 'cross-origin request refused');
      return sendJson(res, 403, { error: 'cross-origin request refused' });
    }
    if (path === '/login') return auth ? handleLogin(req, res, auth, throttle, texts) : redirect(res, '/');
    if (path === '/logout') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      return auth ? handleLogout(req, res, auth) : redirect(res, '/');
    }
    let credential: Credential | undefined;
    if (auth && !isPublic(path)) {
      credential = admit(req, res, auth, throttle, path, method);
      if (!credential) return;
    }

    if (commissioning) {
      if (!opts.commission) {
        // The page asks on every load whether a window is open: "no" is an answer, not an error.
        if (path === `${COMMISSION_PREFIX}session` && method === 'GET') return sendJson(res, 200, { active: false });
        return sendCommissionError(res, 403, 'SFG_COMMISSION_OFF', 'commissioning is not available in this gateway');
      }
      return (await loadCommission(opts.commission))(req, res, path, method ?? 'GET');
    }

    const action = /^\/api\/dead-letters\/(\d{1,15})\/(retry|drop)$/.exec(path);
    if (action) {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const id = Number(action[1]);
      const done = action[2] === 'retry' ? provider.retryDeadLetter(id) : provider.dropDeadLetter(id);
      if (!done) return sendJson(res, 404, { error: `no dead letter ${id}` });
      log.info(
        { event: `dead_letter.${action[2]}`, deadLetter: id, action: action[2] },
        'dead letter %s from the status page',
        action[2] === 'retry' ? 'retried' : 'dropped',
      );
      return sendJson(res, 200, { ok: true });
    }
    if (method !== 'GET') return notAllowed(res, 'GET, HEAD');

    switch (path) {
      // The page shows "Log out" only where there is a session to end.
      case '/api/session':
        return sendJson(res, 200, { session: credential === 'session' });
      case '/api/status':
        return sendJson(res, 200, provider.status());
      case '/api/events':
        return events.attach(req, res);
      case '/metrics': {
        const m = await loadMetrics();
        return sendText(res, 200, await m.render(), m.contentType);
      }
      case '/healthz': {
        const status = provider.status();
        const problems = healthProblems(status);
        const degraded = problems.length === 0 ? healthDegraded(status) : [];
        if (degraded.length > 0) return sendText(res, 200, `degraded\n${degraded.map((p) => `- ${p}\n`).join('')}`);
        if (problems.length === 0) return sendText(res, 200, 'ok\n');
        return sendText(res, 503, `unhealthy\n${problems.map((p) => `- ${p}\n`).join('')}`);
      }
    }
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file) return serveStatic(req, res, file);
    sendJson(res, 404, { error: `no such page: ${path}` });
  }

  const server = createServer(
    // The timeouts are checked every connectionsCheckingInterval (default 30 s).
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS },
    (req, res) => {
      route(req, res).catch((err: unknown) => {
        if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: err.message });
        log.error({ event: 'web.request_failed', err, url: req.url }, 'status page request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error, see the gateway log' });
        else res.destroy();
      });
    },
  );

  limitConnections(server, log);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`web.listen ${opts.listen}: ${err.message}`, { cause: err })));
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;

  return {
    url: formatUrl(host, boundPort),
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        events.close();
        throttle.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The path of a request target, or undefined when it is no URL (`GET http://[ HTTP/1.1`). */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://gateway').pathname;
  } catch {
    return undefined;
  }
}

/** Browsers send Origin on cross-site POSTs; scripts (curl, the CLI) send none. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * The credential that lets the request in, or undefined after answering 401 (or sending a
 * browser to /login) without one, and 429 with Retry-After while the client is locked out for
 * wrong tokens.
 */
function admit(
  req: IncomingMessage,
  res: ServerResponse,
  auth: Auth,
  throttle: LoginThrottle,
  path: string,
  method: string | undefined,
): 'session' | 'token' | undefined {
  const credential = auth.credential(req, res);
  if (credential === 'session') return credential;
  const client = clientAddress(req);
  if (credential !== 'none') {
    // While locked out even the right token is refused: a different answer would tell a guesser it was right.
    const lockedMs = throttle.lockedFor(client);
    if (lockedMs > 0) {
      const seconds = retryAfterSeconds(lockedMs);
      res.setHeader('retry-after', String(seconds));
      sendJson(res, 429, { error: `too many wrong tokens from ${client}, retry after ${seconds} s` });
      return undefined;
    }
    if (credential === 'token') {
      throttle.succeeded(client);
      return credential;
    }
    throttle.failed(client);
  }
  if (method === 'GET' && (path === '/' || path === '/index.html')) {
    redirect(res, '/login');
  } else {
    res.setHeader('www-authenticate', 'Bearer realm="shopfloor-gateway"');
    sendJson(res, 401, { error: 'authentication required: Authorization: Bearer <web.token>, or log in at /login' });
  }
  return undefined;
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: `method not allowed, use ${allow}` });
}
