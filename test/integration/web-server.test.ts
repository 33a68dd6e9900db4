import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startWebServer } from '../../src/web/server.js';
import { ManualClock } from '../helpers/clocks.js';
import { eventuallyPasses } from '../helpers/wait.js';
import { fixtureProvider, fixtureStatus } from '../helpers/web-fixture.js';
import { parseExposition } from '../helpers/web-prometheus.js';
import { openEvents, openSlowSockets, rawRequest, startFixtureServer } from '../helpers/web-server.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(opts: Parameters<typeof startFixtureServer>[0] = {}) {
  const started = await startFixtureServer(opts);
  closers.push(() => started.web.close());
  return { ...started, get: (path: string, init?: RequestInit) => fetch(new URL(path, started.web.url), { redirect: 'manual', ...init }) };
}

describe('status web server', () => {
  it('serves the provider status as JSON', async () => {
    const { get, provider } = await server();
    const res = await get('/api/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(provider.status());
  });

  it('serves the page and its assets from memory, with revalidation', async () => {
    const { get } = await server();
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('src="/app.js"');
    const js = await get('/app.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const again = await get('/app.js', { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await get('/../server.ts')).status).toBe(404);
    expect((await get('/nothing.js')).status).toBe(404);
  });

  it('exposes Prometheus metrics computed from the status', async () => {
    const { get, provider } = await server();
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const m = parseExposition(await res.text());

    expect(m.types.get('shopfloor_mes_requests_total')).toBe('counter');
    expect(m.value('shopfloor_mes_requests_total', { endpoint: 'counter', status: '200' })).toBe(812);
    expect(m.value('shopfloor_mes_requests_total', { endpoint: 'parameters', status: '0' })).toBe(3);
    expect(m.value('shopfloor_mes_rate_limited_total')).toBe(2);
    expect(m.value('shopfloor_mes_reachable')).toBe(1);
    expect(m.value('shopfloor_rate_budget_used')).toBe(37);
    expect(m.value('shopfloor_rate_budget_limit')).toBe(100);
    expect(m.value('shopfloor_outbox_pending')).toBe(3);
    expect(m.value('shopfloor_dead_letters')).toBe(1);
    expect(m.value('shopfloor_delivered_parts_total', { machine: 'PRESS01' })).toBe(2140);
    expect(m.value('shopfloor_delivered_waste_total', { machine: 'PRESS01', code: 'Waste1' })).toBe(12);
    expect(m.value('shopfloor_device_up', { device: 'press-plc-1', protocol: 'modbus-tcp' })).toBe(1);
    expect(m.value('shopfloor_device_up', { device: 'line2-opcua', protocol: 'opcua' })).toBe(0);
    expect(m.value('shopfloor_signal_read_errors_total', { device: 'line2-opcua', machine: 'PRESS02', signal: 'param:temperature' })).toBe(4);
    expect(m.value('shopfloor_machine_running', { machine: 'PRESS01' })).toBe(1);
    expect(m.value('shopfloor_machine_running', { machine: 'PRESS02' })).toBe(0);
    expect(m.value('shopfloor_machine_count_total', { machine: 'PRESS01' })).toBe(12840);
    expect(m.value('shopfloor_machine_waste_total', { machine: 'PRESS02', code: 'Waste1' })).toBe(57);
    expect(m.value('shopfloor_healthy')).toBe(1);
    expect(m.value('shopfloor_gateway_info', { version: '0.1.0' })).toBe(1);
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');

    // Unknown is absent, not 0: an alert on "reachable == 0" must not fire before the first request.
    provider.update((s) => {
      s.mes.reachable = null;
      s.machines[0].run.running = null;
    });
    const later = parseExposition(await (await get('/metrics')).text());
    expect(later.samples.some((s) => s.name === 'shopfloor_mes_reachable')).toBe(false);
    expect(later.value('shopfloor_machine_running', { machine: 'PRESS01' })).toBeUndefined();
  });

  it('answers /healthz 200 ok, and 503 with the reasons when a person must act', async () => {
    const { get, provider } = await server();
    const ok = await get('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('ok\n');

    provider.update((s) => {
      s.mes.reachable = false;
      s.mes.lastOkAt = s.now - 5 * 60_000;
      s.mes.lastError = 'connect ETIMEDOUT';
      s.config.errors = ['devices/press.yaml:4:3 machines[0].count: expected an object'];
    });
    const bad = await get('/healthz');
    expect(bad.status).toBe(503);
    const body = await bad.text();
    expect(body).toMatch(/^unhealthy\n/);
    expect(body).toContain('MES unreachable for 300 s: connect ETIMEDOUT');
    expect(body).toContain('devices/press.yaml:4:3');
  });

  it('retries and drops dead letters through the provider', async () => {
    const { get, provider } = await server();
    const retry = await get('/api/dead-letters/7/retry', { method: 'POST' });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true });
    expect(provider.calls.retry).toEqual([7]);
    expect(provider.status().deadLetters).toEqual([]);

    const unknown = await get('/api/dead-letters/7/drop', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(provider.calls.drop).toEqual([7]);
    expect((await get('/api/dead-letters/7/drop')).status).toBe(405);
  });

  it('refuses POSTs from another origin (CSRF)', async () => {
    const { get, provider, web } = await server();
    const res = await get('/api/dead-letters/7/drop', { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    expect(provider.calls.drop).toEqual([]);
    const same = await get('/api/dead-letters/7/drop', { method: 'POST', headers: { origin: new URL(web.url).origin } });
    expect(same.status).toBe(200);
  });

  it('pushes a server-sent event after the provider changes', async () => {
    const { web, provider } = await server({ eventsMinIntervalMs: 50 });
    const events = await openEvents(web.url);
    closers.push(events.close);
    expect(events.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = JSON.parse((await events.next()).data);
    expect(first.machines[0].values.count.value).toBe(12840 % 65536);

    provider.update((s) => {
      s.machines[0].values.count = { value: 777, at: s.now };
    });
    const second = JSON.parse((await events.next()).data);
    expect(second.machines[0].values.count.value).toBe(777);
  });

  it('sends heartbeat events on an idle stream', async () => {
    const { web } = await server({ heartbeatMs: 20 });
    const events = await openEvents(web.url);
    closers.push(events.close);
    const beat = await events.next('heartbeat');
    expect(Number(beat.data)).toBeGreaterThan(0);
  });

  it('close() ends event streams and stops listening', async () => {
    const { web } = await startFixtureServer();
    const events = await openEvents(web.url);
    await events.next();
    await web.close();
    await expect(events.next()).rejects.toThrow(/ended/);
    await expect(fetch(web.url)).rejects.toThrow();
  });
});

describe('status web server without web.token: Host header (DNS rebinding)', () => {
  it('answers 421 to a foreign Host, for reading and for actions', async () => {
    const { web, provider, logs } = await server();
    const host = `attacker.test:${web.port}`;
    const status = await rawRequest(web.url, ['GET /api/status HTTP/1.1', `Host: ${host}`]);
    expect(status.status).toBe(421);
    expect(status.body).toMatch(/^misdirected request/);
    expect(status.body).not.toContain('PRESS01');

    const drop = await rawRequest(web.url, ['POST /api/dead-letters/7/drop HTTP/1.1', `Host: ${host}`, `Origin: http://${host}`]);
    expect(drop.status).toBe(421);
    expect(provider.calls.drop).toEqual([]);
    for (const path of ['/api/events', '/', '/metrics', '/healthz']) {
      expect((await rawRequest(web.url, [`GET ${path} HTTP/1.1`, `Host: ${host}`])).status, path).toBe(421);
    }
    for (const foreign of ['attacker.test', '127.0.0.1.attacker.test', 'localhost.attacker.test:80', '10.0.0.5', '[::2]']) {
      expect((await rawRequest(web.url, ['GET /api/status HTTP/1.1', `Host: ${foreign}`])).status, foreign).toBe(421);
    }
    expect((await rawRequest(web.url, ['GET /api/status HTTP/1.0'])).status).toBe(421);
    expect(logs.join('')).not.toContain('"level":50');
  });

  it('answers as usual to 127.0.0.1, localhost and [::1], with or without the port', async () => {
    const { web, provider } = await server();
    for (const host of [`127.0.0.1:${web.port}`, `localhost:${web.port}`, `LOCALHOST:${web.port}`, `[::1]:${web.port}`, '127.0.0.1', 'localhost', '[::1]']) {
      const res = await rawRequest(web.url, ['GET /api/status HTTP/1.1', `Host: ${host}`]);
      expect(res.status, host).toBe(200);
      expect(JSON.parse(res.body).version).toBe('0.1.0');
    }
    const drop = await rawRequest(web.url, ['POST /api/dead-letters/7/drop HTTP/1.1', `Host: localhost:${web.port}`, `Origin: http://localhost:${web.port}`]);
    expect(drop.status).toBe(200);
    expect(provider.calls.drop).toEqual([7]);
  });

  it('leaves token mode as it was: the token decides, not the Host', async () => {
    const token = 'a-long-enough-test-token-42';
    const { web } = await server({ token });
    const host = `attacker.test:${web.port}`;
    expect((await rawRequest(web.url, ['GET /api/status HTTP/1.1', `Host: ${host}`])).status).toBe(401);
    expect((await rawRequest(web.url, ['GET /api/status HTTP/1.1', `Host: ${host}`, `Authorization: Bearer ${token}`])).status).toBe(200);
  });
});

describe('status web server: malformed requests', () => {
  it.each([undefined, 'a-long-enough-test-token-42'])('answers 400 to a request target that is no URL, without an error log (token %s)', async (token) => {
    const { web, logs } = await server({ token });
    const res = await rawRequest(web.url, ['GET http://[ HTTP/1.1', `Host: 127.0.0.1:${web.port}`]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'malformed request target' });
    expect(logs.join('')).not.toContain('"level":50');
    expect(logs.join('')).not.toContain('stack');
  });
});

describe('status web server: live event streams', () => {
  it('refuses the 17th stream with 503 and Retry-After, and takes one again when a stream ends', async () => {
    const { web, get } = await server();
    const streams = [];
    for (let i = 0; i < 16; i++) {
      const events = await openEvents(web.url);
      closers.push(events.close);
      await events.next();
      streams.push(events);
    }
    const refused = await get('/api/events');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('/api/status');
    // The page polls meanwhile.
    expect((await get('/api/status')).status).toBe(200);

    streams[0].close();
    await vi.waitFor(
      async () => {
        const events = await openEvents(web.url);
        closers.push(events.close);
      },
      { timeout: 5000, interval: 50 },
    );
  });

  it('builds one status frame per push for all streams', async () => {
    const { web, provider } = await server({ eventsMinIntervalMs: 50 });
    const streams = [];
    for (let i = 0; i < 5; i++) {
      const events = await openEvents(web.url);
      closers.push(events.close);
      await events.next();
      streams.push(events);
    }
    const status = vi.spyOn(provider, 'status');
    provider.update((s) => {
      s.outbox.pending = 42;
    });
    for (const events of streams) expect(JSON.parse((await events.next()).data).outbox.pending).toBe(42);
    expect(status).toHaveBeenCalledTimes(1);
  });
});

describe('status web server binding', () => {
  const logger = pino({ level: 'silent' });

  it.each(['0.0.0.0:0', '[::]:0', '192.168.1.20:8080'])('refuses to listen on %s without a token', async (listen) => {
    await expect(startWebServer({ listen, provider: fixtureProvider(), logger })).rejects.toThrow(/set web\.token/);
  });

  it('refuses a malformed listen address', async () => {
    await expect(startWebServer({ listen: '8080', provider: fixtureProvider(), logger })).rejects.toThrow(/host:port/);
  });

  it('reports a port in use by name', async () => {
    const first = await startWebServer({ listen: '127.0.0.1:0', provider: fixtureProvider(), logger });
    closers.push(() => first.close());
    await expect(startWebServer({ listen: `127.0.0.1:${first.port}`, provider: fixtureProvider(), logger })).rejects.toThrow(
      new RegExp(`web.listen 127.0.0.1:${first.port}: .*EADDRINUSE`),
    );
  });
});

describe('status web server with web.token', () => {
  const token = 'a-long-enough-test-token-42';

  it('requires the token for the API, metrics and health', async () => {
    const { get } = await server({ token });
    for (const path of ['/api/status', '/metrics', '/healthz', '/app.js', '/api/events']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
    }
    const res = await get('/api/status');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/api/dead-letters/7/drop', { method: 'POST' })).status).toBe(401);
    expect((await get('/api/status', { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
    expect((await get('/api/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('sends a browser to the login form, which sets a session cookie', async () => {
    const { get, logs } = await server({ token });
    const page = await get('/');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
    const form = await get('/login');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="token"');
    expect((await get('/style.css')).status).toBe(200);

    const wrong = await get('/login', { method: 'POST', body: new URLSearchParams({ token: 'guess-guess-guess' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await get('/login', { method: 'POST', body: new URLSearchParams({ token }) });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(token);

    const session = cookie.split(';')[0];
    expect((await get('/api/status', { headers: { cookie: session } })).status).toBe(200);
    expect((await get('/', { headers: { cookie: session } })).status).toBe(200);
    expect((await get('/api/status', { headers: { cookie: `${session}x` } })).status).toBe(401);
    expect(logs.join('')).not.toContain(token);
  });

  it('accepts the token on a loopback address too', async () => {
    const { web } = await server({ token });
    const events = await openEvents(web.url, { authorization: `Bearer ${token}` });
    closers.push(events.close);
    expect(JSON.parse((await events.next()).data).version).toBe(fixtureStatus().version);
  });
});

describe('status web server: one client cannot lock out the others', () => {
  it('keeps answering /healthz from this host while another client holds 300 slow sockets', async () => {
    const { get, web, lines } = await server();
    const slow = await openSlowSockets(web.url, 300, '127.0.0.2');
    closers.push(slow.close);
    // The first 32 are held (until the header timeout), the rest are closed at once.
    await eventuallyPasses(() => expect(slow.closed()).toBe(300 - 32), 10_000);
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect(slow.closed()).toBe(300 - 32);
    expect(lines('web.connections_limited')).toEqual([expect.objectContaining({ remote: '127.0.0.2', limit: 32 })]);
  });
});

describe('status web server: wrong tokens', () => {
  const token = 'a-long-enough-test-token-42';
  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  const login = (t: string) => ({ method: 'POST', body: new URLSearchParams({ token: t }) });

  it('answers 429 with Retry-After to Bearer guesses after five, doubling, and the right token starts over', async () => {
    const clock = new ManualClock();
    const { get, logs, lines } = await server({ token, clock });
    const statuses = [];
    for (let i = 0; i < 50; i++) statuses.push((await get('/api/status', bearer(`guess-${i}-guess-guess`))).status);
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(45).fill(429)]);

    const locked = await get('/api/status', bearer(token));
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    clock.advance(1000);
    expect((await get('/api/status', bearer('guess-again-guess-guess'))).status).toBe(401);
    expect((await get('/api/status', bearer(token))).headers.get('retry-after')).toBe('2');
    clock.advance(2000);
    expect((await get('/api/status', bearer(token))).status).toBe(200);
    expect((await get('/api/status', bearer('guess-after-success-1'))).status).toBe(401);

    // One line for the first wrong token, not one per try, and no token in any of them.
    expect(lines('web.login_failed')).toEqual([expect.objectContaining({ level: 40, remote: '127.0.0.1' })]);
    expect(logs.join('')).not.toMatch(/guess|a-long-enough/);
  });

  it('locks out the login form the same way, and a browser that is logged in keeps its session', async () => {
    const clock = new ManualClock();
    const { get } = await server({ token, clock });
    const cookie = (await get('/login', login(token))).headers.get('set-cookie')!.split(';')[0];
    for (let i = 0; i < 5; i++) expect((await get('/login', login(`wrong-${i}-wrong-wrong`))).status).toBe(401);
    const refused = await get('/login', login(token));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await refused.text()).toContain('Try again in 1 s');
    expect((await get('/api/status', { headers: { cookie } })).status).toBe(200);
    clock.advance(1000);
    expect((await get('/login', login(token))).status).toBe(303);
  });
});

describe('status web server: sessions', () => {
  const token = 'a-long-enough-test-token-42';
  const H = 3600_000;

  async function logIn(get: (path: string, init?: RequestInit) => Promise<Response>, headers: Record<string, string> = {}) {
    const res = await get('/login', { method: 'POST', body: new URLSearchParams({ token }), headers });
    expect(res.status).toBe(303);
    return res.headers.get('set-cookie')!;
  }
  const session = (setCookie: string) => ({ headers: { cookie: setCookie.split(';')[0] } });

  it('gives every login its own session cookie, for 12 h, Secure only when a local proxy says the browser used HTTPS', async () => {
    const { get } = await server({ token });
    const first = await logIn(get);
    const second = await logIn(get);
    expect(first.split(';')[0]).not.toBe(second.split(';')[0]);
    expect(first).toMatch(/^sfg_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect((await get('/api/status', session(first))).status).toBe(200);
    expect((await get('/api/status', session(second))).status).toBe(200);

    expect(await logIn(get, { 'x-forwarded-proto': 'https' })).toMatch(/; Secure$/);
  });

  it('ends a session after 12 h of use or an hour unused', async () => {
    const clock = new ManualClock();
    const { get } = await server({ token, clock });
    const busy = await logIn(get);
    const idle = await logIn(get);
    clock.advance(H - 1);
    expect((await get('/api/status', session(busy))).status).toBe(200);
    clock.advance(2);
    expect((await get('/api/status', session(idle))).status).toBe(401);
    // 1 h in; 11.5 h more of use, then past 12 h.
    for (let i = 0; i < 21; i++) {
      clock.advance(H / 2);
      expect((await get('/api/status', session(busy))).status).toBe(200);
    }
    clock.advance(H / 2);
    expect((await get('/api/status', session(busy))).status).toBe(401);
    expect((await get('/', session(busy))).headers.get('location')).toBe('/login');
  });

  it('keeps the session of an open page while its event stream runs, and ends the stream when the session ends', async () => {
    const clock = new ManualClock();
    const { get, web } = await server({ token, clock });
    const cookie = session(await logIn(get));
    const events = await openEvents(web.url, cookie.headers);
    closers.push(events.close);
    await events.next();
    clock.advance(3 * H);
    expect((await get('/api/status', cookie)).status).toBe(200);
    clock.advance(9 * H);
    // Cut, not ended: the browser reconnects, gets 401 and goes to the login form.
    await expect(events.next()).rejects.toThrow(/terminated/);
    expect((await get('/api/status', cookie)).status).toBe(401);
  });

  it('ends the session on logout and clears the cookie', async () => {
    const { get } = await server({ token });
    const cookie = await logIn(get);
    const other = await logIn(get);
    const out = await get('/logout', { method: 'POST', ...session(cookie) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(out.headers.get('set-cookie')).toMatch(/^sfg_session=; .*Max-Age=0/);
    expect((await get('/api/status', session(cookie))).status).toBe(401);
    expect((await get('/api/status', session(other))).status).toBe(200);
    expect((await get('/logout')).status).toBe(405);
  });

  it('tells the page whether it has a session to log out of', async () => {
    const { get } = await server({ token });
    expect(await (await get('/api/session', session(await logIn(get)))).json()).toEqual({ session: true });
    expect(await (await get('/api/session', { headers: { authorization: `Bearer ${token}` } })).json()).toEqual({ session: false });
    expect((await get('/api/session')).status).toBe(401);
    const open = await server();
    expect(await (await open.get('/api/session')).json()).toEqual({ session: false });
  });

  it('does not carry sessions over to a server with a new web.token', async () => {
    const { get, web } = await server({ token });
    const cookie = await logIn(get);
    await web.close();
    const next = await server({ token: 'the-rotated-token-0123456789' });
    expect((await next.get('/api/status', session(cookie))).status).toBe(401);
  });
});
