import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../src/config/schema.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { MesClient, type MesClientOptions } from '../../src/uplink/mes-client.js';
import { PinnedClock } from '../helpers/clocks.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { seededRandom } from '../helpers/seeded-random.js';

const SECRET = 'very-secret';
const FIXED = 'fixed-token-abc';
const HOUR = 60 * 60 * 1000;
const basicAuth = { apiKey: 'key', apiSecret: SECRET, tokenAuth: false };
const tokenAuth = { ...basicAuth, tokenAuth: true };
const machines = {
  PRESS01: { waste: ['Waste1'], downtimeTypes: ['Maintenance'] },
  'LINE 1/A': {},
};

/** Time stands still unless the test moves it; the sandbox and the client share it. */
const clock = new PinnedClock(1_700_000_000_000);

let mes: MesSandbox;
let acquired: number;
/** Requests whose answer (or failure) was reported back to the budget. */
let answered: number;
const clients: MesClient[] = [];

async function sandbox(opts: { perMinute?: number; accessToken?: string } = {}): Promise<void> {
  await mes?.close();
  const credentials = { apiKey: 'key', apiSecret: SECRET, accessToken: opts.accessToken };
  mes = await startMesSandbox({ credentials, machines, clock, perMinute: opts.perMinute });
}

function client(auth: GatewayConfig['prodsmart']['auth'], extra: Partial<MesClientOptions> = {}): MesClient {
  const c = new MesClient({
    baseUrl: `${mes.url}/`,
    auth,
    timeoutMs: 5000,
    clock,
    acquire: async (onSend) => {
      acquired++;
      onSend?.();
      return () => answered++;
    },
    ...extra,
  });
  clients.push(c);
  return c;
}

/** What the sandbox saw, without the time. */
const seen = () => mes.requests.map(({ method, path, status, auth }) => `${method} ${path} ${status}${auth ? ` ${auth}` : ''}`);

beforeEach(async () => {
  clock.t = 1_700_000_000_000;
  acquired = 0;
  answered = 0;
  await sandbox();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await mes.close();
});

describe('MesClient: endpoints and bodies', () => {
  it('posts each endpoint with exactly the given body, with Basic auth', async () => {
    const c = client(basicAuth);
    const counter = { count: 500, waste: [{ code: 'Waste1', quantity: 20 }], parameters: [{ name: 'p1', value: 1 }] };
    expect(await c.counter('PRESS01', counter)).toEqual({ outcome: 'ok', status: 200, body: '500' });
    expect(
      await c.parameters('PRESS01', {
        parameters: [
          { code: 'temperature', value: 25 },
          { code: 'valid', value: 'yes' },
        ],
      }),
    ).toMatchObject({ outcome: 'ok', status: 200 });
    expect(await c.startstop('PRESS01', { type: 'Maintenance', running: 0 })).toMatchObject({ outcome: 'ok' });
    expect(mes.requests.map((r) => [r.method, r.path, r.auth, r.body])).toEqual([
      ['POST', '/api/machines/PRESS01/counter', 'basic', '{"count":500,"waste":[{"code":"Waste1","quantity":20}],"parameters":[{"name":"p1","value":1}]}'],
      ['POST', '/api/machines/PRESS01/parameters', 'basic', '{"parameters":[{"code":"temperature","value":25},{"code":"valid","value":"yes"}]}'],
      ['POST', '/api/machines/PRESS01/startstop', 'basic', '{"type":"Maintenance","running":0}'],
    ]);
    expect(mes.state.PRESS01).toMatchObject({ count: 500, waste: { Waste1: 20 }, parameters: { p1: 1, temperature: 25, valid: 'yes' } });
    expect(acquired).toBe(3);
  });

  it('URL-encodes machine codes with spaces and slashes', async () => {
    expect(await client(basicAuth).counter('LINE 1/A', { count: 7 })).toMatchObject({ outcome: 'ok', body: '7' });
    expect(mes.requests[0].path).toBe('/api/machines/LINE%201%2FA/counter');
    expect(mes.state['LINE 1/A'].count).toBe(7);
  });

  it('returns a 400 as rejected with the MES reason', async () => {
    mes.state.PRESS01.count = 700;
    expect(await client(basicAuth).counter('PRESS01', { count: 500 })).toEqual({
      outcome: 'rejected',
      status: 400,
      reason: 'count 500 is not greater than the current counter 700',
      rejection: 'not-greater',
    });
  });

  it('says what each refusal of the sandbox is about', async () => {
    const c = client(basicAuth);
    const kinds = [
      await c.counter('PRESS99', { count: 1 }),
      await c.counter('PRESS01', { count: 1, waste: [{ code: 'Waste9', quantity: 1 }] }),
      await c.startstop('PRESS01', { type: 'Lunch', running: 0 }),
      await c.counter('PRESS01', { count: -1 }),
    ].map((r) => (r.outcome === 'rejected' ? r.rejection : r.outcome));
    expect(kinds).toEqual(['unknown-machine', 'unknown-waste', 'unknown-downtime-type', 'invalid']);
  });
});

describe('MesClient: auth', () => {
  it('sends a fixed access token as ?access_token=', async () => {
    await sandbox({ accessToken: FIXED });
    expect(await client({ accessToken: FIXED, tokenAuth: false }).counter('PRESS01', { count: 1 })).toMatchObject({ outcome: 'ok' });
    expect(seen()).toEqual(['POST /api/machines/PRESS01/counter 200 token']);
  });

  it('reports refused Basic credentials as unauthorized, once, without the secret', async () => {
    const res = await client({ ...basicAuth, apiSecret: `${SECRET}-wrong` }).counter('PRESS01', { count: 1 });
    expect(res).toEqual({ outcome: 'unauthorized', status: 401, reason: 'Unauthorized' });
    expect(seen()).toEqual(['POST /api/machines/PRESS01/counter 401']);
  });

  it('does not refresh a refused fixed token', async () => {
    expect(await client({ accessToken: 'revoked', tokenAuth: false }).counter('PRESS01', { count: 1 })).toMatchObject({ outcome: 'unauthorized', status: 401 });
    expect(mes.requests).toHaveLength(1);
  });

  it('tokenAuth: creates a token when none exists, then uses it; every request goes through acquire', async () => {
    const c = client(tokenAuth);
    await c.counter('PRESS01', { count: 1 });
    await c.counter('PRESS01', { count: 2 });
    expect(seen()).toEqual([
      'GET /api/authorization 404 basic',
      'POST /api/authorization 201 basic',
      'POST /api/machines/PRESS01/counter 200 token',
      'POST /api/machines/PRESS01/counter 200 token',
    ]);
    expect(mes.requests[1].body).toBe('{"scopes":["productions_write"]}');
    expect(acquired).toBe(4);
    expect(answered).toBe(4);
  });

  it("tokenAuth: uses the company's existing token rather than creating one", async () => {
    const mine = client(tokenAuth);
    await mine.counter('PRESS01', { count: 1 });
    const other = client(tokenAuth); // a second integration of the same company
    await other.counter('PRESS01', { count: 2 });
    expect(seen().slice(3)).toEqual(['GET /api/authorization 200 basic', 'POST /api/machines/PRESS01/counter 200 token']);
  });

  it('tokenAuth: renews a token before its 2 h run out', async () => {
    const c = client(tokenAuth);
    await c.counter('PRESS01', { count: 1 });
    clock.t += 1.9 * HOUR;
    await c.counter('PRESS01', { count: 2 });
    expect(seen().slice(3)).toEqual(['POST /api/machines/PRESS01/counter 200 token']);
    clock.t += 0.04 * HOUR; // 1 h 56 min after the token was fetched
    await c.counter('PRESS01', { count: 3 });
    // The MES still hands out the old token on GET; a new one is created instead.
    expect(seen().slice(4)).toEqual(['GET /api/authorization 200 basic', 'POST /api/authorization 201 basic', 'POST /api/machines/PRESS01/counter 200 token']);
    clock.t += 0.5 * HOUR; // the first token is now past its 2 h; the new one works
    expect(await c.counter('PRESS01', { count: 4 })).toMatchObject({ outcome: 'ok' });
    expect(mes.state.PRESS01.count).toBe(4);
  });

  it('tokenAuth: on a 401 fetches a new token once and retries the request once', async () => {
    const c = client(tokenAuth);
    await c.counter('PRESS01', { count: 1 });
    mes.tokens.expireAll();
    expect(await c.counter('PRESS01', { count: 2 })).toEqual({ outcome: 'ok', status: 200, body: '2' });
    expect(seen().slice(3)).toEqual([
      'POST /api/machines/PRESS01/counter 401',
      'GET /api/authorization 404 basic',
      'POST /api/authorization 201 basic',
      'POST /api/machines/PRESS01/counter 200 token',
    ]);
    expect(mes.state.PRESS01.counterLog.map((e) => e.count)).toEqual([1, 2]);
  });

  it('tokenAuth: a token refused again after renewal is reported, not retried further', async () => {
    const c = client(tokenAuth, {
      acquire: async (onSend) => {
        acquired++;
        mes.tokens.expireAll(); // every token dies before it can be used
        onSend?.();
        return () => answered++;
      },
    });
    const res = await c.counter('PRESS01', { count: 1 });
    expect(res).toMatchObject({ outcome: 'unauthorized', status: 401 });
    expect(seen()).toEqual([
      'GET /api/authorization 404 basic',
      'POST /api/authorization 201 basic',
      'POST /api/machines/PRESS01/counter 401',
      'GET /api/authorization 404 basic',
      'POST /api/authorization 201 basic',
      'POST /api/machines/PRESS01/counter 401',
    ]);
    expect(JSON.stringify(res)).not.toContain(SECRET);
  });

  it('tokenAuth: concurrent requests share one token fetch', async () => {
    const c = client(tokenAuth);
    await Promise.all([c.counter('PRESS01', { count: 1 }), c.counter('LINE 1/A', { count: 1 })]);
    expect(seen().filter((s) => s.includes('/api/authorization'))).toHaveLength(2);
  });

  it('tokenAuth: refused Basic credentials on the token request are unauthorized', async () => {
    expect(await client({ ...tokenAuth, apiSecret: 'nope' }).counter('PRESS01', { count: 1 })).toEqual({
      outcome: 'unauthorized',
      status: 401,
      reason: 'Unauthorized',
    });
    expect(seen()).toEqual(['GET /api/authorization 401']);
  });

  it('tokenAuth: a failing token request is retryable and the item is not sent', async () => {
    mes.setFailNext(1, 503);
    expect(await client(tokenAuth).counter('PRESS01', { count: 1 })).toMatchObject({ outcome: 'retry', status: 503 });
    expect(seen()).toEqual(['GET /api/authorization 503']);
  });
});

describe('MesClient: rate limit, errors, timeouts', () => {
  it('returns 429 as rate-limited with Retry-After in ms', async () => {
    await sandbox({ perMinute: 2 });
    const c = client(basicAuth);
    await c.counter('PRESS01', { count: 1 });
    clock.t += 30_000;
    await c.counter('PRESS01', { count: 2 });
    expect(await c.counter('PRESS01', { count: 3 })).toEqual({ outcome: 'rate-limited', status: 429, retryAfterMs: 30_000 });
  });

  it('takes 60 s when a 429 carries no Retry-After', async () => {
    mes.setFailNext(1, 429);
    expect(await client(basicAuth).counter('PRESS01', { count: 1 })).toEqual({ outcome: 'rate-limited', status: 429, retryAfterMs: 60_000 });
  });

  it('returns 5xx as retry with the status', async () => {
    const c = client(basicAuth);
    mes.setFailNext(1, 500);
    // An answer, even an error, means the MES did not take it: safe to send again.
    expect(await c.counter('PRESS01', { count: 1 })).toEqual({ outcome: 'retry', status: 500, error: 'HTTP 500: injected failure 500', mayHaveArrived: false });
    mes.setDown(true);
    expect(await c.counter('PRESS01', { count: 1 })).toMatchObject({ outcome: 'retry', status: 503 });
    expect(mes.state.PRESS01.counterLog).toEqual([]);
  });

  it('returns a timeout as retry', async () => {
    mes.setDelay(2000);
    const res = await client(basicAuth, { timeoutMs: 100 }).counter('PRESS01', { count: 1 });
    expect(res).toMatchObject({
      outcome: 'retry',
      code: 'UND_ERR_HEADERS_TIMEOUT',
      error: expect.stringContaining('UND_ERR_HEADERS_TIMEOUT'),
      mayHaveArrived: true,
    });
    expect(res).not.toHaveProperty('status');
    // A request that timed out may still have reached the MES: the budget hears when it ended.
    expect(answered).toBe(1);
  });

  it('a connection reset after the MES processed the request may have arrived', async () => {
    mes.setResetNext(1, 'after');
    const res = await client(basicAuth).startstop('PRESS01', { type: 'Maintenance', running: 0 });
    expect(res).toMatchObject({ outcome: 'retry', mayHaveArrived: true });
  });

  it('reads what a refusal is about from the whole answer, also past where the shown reason is cut', async () => {
    const detail = 'x'.repeat(600);
    const server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ detail, error: 'count 5 is not greater than the current counter 9' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await client(basicAuth, { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }).counter('PRESS01', { count: 5 });
      expect(res).toMatchObject({ outcome: 'rejected', status: 400, rejection: 'not-greater' });
      expect((res as { reason: string }).reason).toHaveLength(500);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('keeps credentials out of what the MES echoes back', async () => {
    // A proxy error page that quotes the request, credentials and all.
    // Padded so that the credentials straddle where a long reason is cut (500 characters).
    const pad = (req: { url?: string }) => (req.url?.includes('padded') ? 'x'.repeat(470) : '');
    const server = createServer((req, res) => {
      res.writeHead(400).end(`${pad(req)}bad request ${req.url} ${req.headers.authorization ?? ''}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const viaBasic = await client(basicAuth, { baseUrl }).counter('PRESS01', { count: 1 });
      const viaToken = await client({ accessToken: 'tok/en+1', tokenAuth: false }, { baseUrl }).counter('PRESS01', { count: 1 });
      expect(viaBasic).toEqual({ outcome: 'rejected', status: 400, reason: 'bad request /api/machines/PRESS01/counter Basic ***', rejection: 'invalid' });
      expect(viaToken).toEqual({
        outcome: 'rejected',
        status: 400,
        reason: 'bad request /api/machines/PRESS01/counter?access_token=***',
        rejection: 'invalid',
      });
      for (const auth of [basicAuth, { accessToken: 'tok/en+1', tokenAuth: false }] as const) {
        const res = await client(auth, { baseUrl }).counter('padded', { count: 1 });
        const reason = (res as { reason: string }).reason;
        expect(reason.length).toBeLessThanOrEqual(500);
        expect(reason).not.toMatch(/Basic [A-Za-z0-9+/=]|access_token=t|tok/);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('returns a 200 whose body is no MES answer (a portal page, a cut answer) as retry, not as delivered', async () => {
    const proxy = await startFaultProxy({ target: mes.url, random: seededRandom(1) });
    try {
      const c = client(basicAuth, { baseUrl: proxy.url });
      proxy.inject([
        { kind: 'garbage', forward: false },
        { kind: 'garbage', forward: true },
        { kind: 'garbage', forward: false },
      ]);
      const notTaken = await c.counter('PRESS01', { count: 1 });
      const taken = await c.counter('PRESS01', { count: 2 });
      const params = await c.parameters('PRESS01', { parameters: [{ code: 'temperature', value: 20 }] });
      for (const res of [notTaken, taken, params]) expect(res).toMatchObject({ outcome: 'retry', status: 200, error: expect.stringContaining('not JSON') });
      // Through the same proxy, real answers (a JSON number, an empty body) still count as delivered.
      expect(await c.counter('PRESS01', { count: 3 })).toEqual({ outcome: 'ok', status: 200, body: '3' });
      expect(await c.parameters('PRESS01', { parameters: [{ code: 'temperature', value: 21 }] })).toEqual({ outcome: 'ok', status: 200, body: '' });
    } finally {
      await proxy.close();
    }
  });

  it('returns a refused connection as retry', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const res = await client(basicAuth, { baseUrl: `http://127.0.0.1:${port}` }).counter('PRESS01', { count: 1 });
    expect(res).toMatchObject({ outcome: 'retry', code: 'ECONNREFUSED', error: expect.stringContaining('ECONNREFUSED'), mayHaveArrived: false });
    expect(answered).toBe(1);
  });
});
