import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { connect } from 'node:net';
import { PinnedClock } from '../helpers/clocks.js';
import { eventuallyPasses } from '../helpers/wait.js';

const credentials = { apiKey: 'key', apiSecret: 'secret' };
const basic = `Basic ${Buffer.from('key:secret').toString('base64')}`;
const machines = {
  PRESS01: { waste: ['Waste1', 'Waste2'], downtimeTypes: ['Maintenance', 'Setup'] },
  'LINE 1/A': { downtimeTypes: ['Unplanned'], parameters: ['temperature'] },
};

/** Time stands still unless the test moves it. */
const clock = new PinnedClock(1_700_000_000_000);

let mes: MesSandbox;
beforeEach(async () => {
  clock.t = 1_700_000_000_000;
  mes = await startMesSandbox({ credentials, machines, clock });
});
afterEach(() => mes.close());

async function call(method: string, path: string, body?: string, authorization: string | null = basic) {
  const res = await request(mes.url + path, {
    method: method as 'GET',
    body,
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}
const post = (machine: string, endpoint: string, body: unknown) =>
  call('POST', `/api/machines/${encodeURIComponent(machine)}/${endpoint}`, typeof body === 'string' ? body : JSON.stringify(body));

describe('MES sandbox: counter', () => {
  it('accepts growing counts and waste, answers the new counter, and records what it accepted', async () => {
    expect(await post('PRESS01', 'counter', { count: 500, waste: [{ code: 'Waste1', quantity: 20 }], parameters: [{ name: 'p1', value: 1 }] })).toMatchObject({
      status: 200,
      text: '500',
    });
    expect(await post('PRESS01', 'counter', { waste: [{ code: 'Waste1', quantity: 21 }] })).toMatchObject({ status: 200, text: '500' });
    const m = mes.state.PRESS01;
    expect(m.count).toBe(500);
    expect(m.waste).toEqual({ Waste1: 21 });
    expect(m.parameters).toEqual({ p1: 1 });
    expect(m.parameterLog).toEqual([{ at: clock.t, code: 'p1', value: 1, via: 'counter' }]);
    expect(m.counterLog).toEqual([
      { at: clock.t, count: 500, waste: [{ code: 'Waste1', quantity: 20 }] },
      { at: clock.t, count: undefined, waste: [{ code: 'Waste1', quantity: 21 }] },
    ]);
  });

  it('refuses a count not greater than the current one, naming the current value', async () => {
    mes.state.PRESS01.count = 700;
    for (const count of [500, 700]) {
      expect(await post('PRESS01', 'counter', { count })).toEqual(
        expect.objectContaining({ status: 400, text: `count ${count} is not greater than the current counter 700` }),
      );
    }
    expect(mes.state.PRESS01.count).toBe(700);
  });

  it('refuses the whole request when one part is invalid', async () => {
    await post('PRESS01', 'counter', { count: 10, waste: [{ code: 'Waste1', quantity: 5 }] });
    const res = await post('PRESS01', 'counter', { count: 20, waste: [{ code: 'Waste1', quantity: 5 }], parameters: [{ name: 'p', value: 1 }] });
    expect(res).toMatchObject({ status: 400, text: 'waste Waste1 quantity 5 is not greater than the current quantity 5' });
    expect(mes.state.PRESS01.count).toBe(10);
    expect(mes.state.PRESS01.counterLog).toHaveLength(1);
    expect(mes.state.PRESS01.parameterLog).toEqual([]);
  });

  it.each([
    ['an unknown waste code', { count: 1, waste: [{ code: 'Nope', quantity: 1 }] }, 'waste Nope not found for machine PRESS01'],
    ['neither count nor waste', { parameters: [{ name: 'p', value: 1 }] }, 'count is required unless waste is given'],
    ['a fractional count', { count: 1.5 }, 'count must be a non-negative integer'],
    ['a count as text', { count: '5' }, 'count must be a non-negative integer'],
    ['a parameter keyed by code', { count: 1, parameters: [{ code: 'p', value: 1 }] }, 'each parameter needs a "name"'],
    [
      'a waste listed twice',
      {
        waste: [
          { code: 'Waste1', quantity: 1 },
          { code: 'Waste1', quantity: 2 },
        ],
      },
      'waste Waste1 is listed twice',
    ],
    ['a body that is not an object', [1], 'the body must be a JSON object'],
  ])('answers 400 for %s', async (_, body, reason) => {
    expect(await post('PRESS01', 'counter', body)).toMatchObject({ status: 400, text: reason });
    expect(mes.state.PRESS01.counterLog).toEqual([]);
  });

  it('answers 400 Invalid JSON for a malformed body', async () => {
    expect(await post('PRESS01', 'counter', '{"count": 5,')).toMatchObject({ status: 400, text: 'Invalid JSON' });
  });

  it('answers 400 for an unknown machine, and decodes machine codes from the path', async () => {
    expect(await post('XYZ', 'counter', { count: 1 })).toMatchObject({ status: 400, text: 'machine XYZ not found' });
    expect(await post('constructor', 'counter', { count: 1 })).toMatchObject({ status: 400, text: 'machine constructor not found' });
    expect(await post('LINE 1/A', 'counter', { count: 3 })).toMatchObject({ status: 200, text: '3' });
    expect(mes.state['LINE 1/A'].count).toBe(3);
    expect(mes.requests.at(-1)).toMatchObject({ path: '/api/machines/LINE%201%2FA/counter', status: 200, auth: 'basic' });
  });
});

describe('MES sandbox: parameters and startstop', () => {
  it('accepts parameters by code, and refuses unknown codes and the counter key', async () => {
    expect(await post('LINE 1/A', 'parameters', { parameters: [{ code: 'temperature', value: 25.5 }] })).toMatchObject({ status: 200 });
    expect(mes.state['LINE 1/A'].parameterLog).toEqual([{ at: clock.t, code: 'temperature', value: 25.5, via: 'parameters' }]);
    expect(await post('LINE 1/A', 'parameters', { parameters: [{ code: 'pressure', value: 1 }] })).toMatchObject({
      status: 400,
      text: 'parameter pressure not found for machine LINE 1/A',
    });
    expect(await post('LINE 1/A', 'parameters', { parameters: [{ name: 'temperature', value: 1 }] })).toMatchObject({
      status: 400,
      text: 'each parameter needs a "code"',
    });
    expect(await post('LINE 1/A', 'parameters', { parameters: [{ code: 'temperature', value: null }] })).toMatchObject({ status: 400 });
    expect(await post('LINE 1/A', 'parameters', { parameters: [] })).toMatchObject({ status: 400 });
    expect(mes.state['LINE 1/A'].parameters).toEqual({ temperature: 25.5 });
  });

  it('records run/stop with a downtime type of that machine, running 0 or 1 only', async () => {
    expect(await post('PRESS01', 'startstop', { type: 'Maintenance', running: 0 })).toMatchObject({ status: 200 });
    expect(await post('PRESS01', 'startstop', { type: 'Maintenance', running: 1 })).toMatchObject({ status: 200 });
    expect(await post('PRESS01', 'startstop', { type: 'Unplanned', running: 0 })).toMatchObject({
      status: 400,
      text: 'downtime type Unplanned is not assigned to machine PRESS01',
    });
    expect(await post('PRESS01', 'startstop', { type: 'Setup', running: true })).toMatchObject({ status: 400, text: 'running must be 0 or 1' });
    expect(await post('PRESS01', 'startstop', { running: 0 })).toMatchObject({ status: 400, text: 'type is required' });
    expect(mes.state.PRESS01.startstop).toEqual([
      { at: clock.t, type: 'Maintenance', running: 0 },
      { at: clock.t, type: 'Maintenance', running: 1 },
    ]);
  });
});

describe('MES sandbox: auth', () => {
  it('refuses missing or wrong credentials', async () => {
    const body = JSON.stringify({ count: 1 });
    expect((await call('POST', '/api/machines/PRESS01/counter', body, null)).status).toBe(401);
    expect((await call('POST', '/api/machines/PRESS01/counter', body, `Basic ${Buffer.from('key:wrong').toString('base64')}`)).status).toBe(401);
    expect((await call('POST', '/api/machines/PRESS01/counter?access_token=unknown', body, null)).status).toBe(401);
    expect(mes.state.PRESS01.counterLog).toEqual([]);
  });

  it('hands out tokens: GET 404 before any, POST creates, GET returns it; tokens expire', async () => {
    expect((await call('GET', '/api/authorization')).status).toBe(404);
    const created = await call('POST', '/api/authorization', '{"scopes":["productions_write"]}');
    expect(created.status).toBe(201);
    const token = JSON.parse(created.text).token as string;
    expect(JSON.parse((await call('GET', '/api/authorization')).text)).toMatchObject({ token, scopes: ['productions_write'] });
    expect((await call('GET', '/api/authorization', undefined, null)).status).toBe(401);
    expect((await call('POST', '/api/authorization', '{"scopes":["admin"]}')).status).toBe(400);

    const counter = (n: number) => call('POST', `/api/machines/PRESS01/counter?access_token=${token}`, JSON.stringify({ count: n }), null);
    expect(await counter(1)).toMatchObject({ status: 200 });
    expect(mes.requests.at(-1)).toMatchObject({ auth: 'token', path: '/api/machines/PRESS01/counter' });
    clock.t += 2 * 60 * 60 * 1000;
    expect((await counter(2)).status).toBe(401);
    expect((await call('GET', '/api/authorization')).status).toBe(404);
  });

  it('expireAll invalidates every token', async () => {
    const token = JSON.parse((await call('POST', '/api/authorization', '{"scopes":["productions_write"]}')).text).token as string;
    mes.tokens.expireAll();
    expect((await call('POST', `/api/machines/PRESS01/counter?access_token=${token}`, '{"count":1}', null)).status).toBe(401);
  });
});

describe('MES sandbox: rate limit and faults', () => {
  it('answers 429 past 120 requests in a sliding minute, counting every request, with Retry-After', async () => {
    for (let i = 1; i <= 119; i++) expect((await post('PRESS01', 'counter', { count: i })).status).toBe(200);
    expect((await call('GET', '/api/authorization')).status).toBe(404); // the 120th: token requests count too
    const limited = await post('PRESS01', 'counter', { count: 1000 });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    clock.t += 45_500;
    expect((await post('PRESS01', 'counter', { count: 1000 })).headers['retry-after']).toBe('15');
    clock.t += 14_500; // exactly 60 s after the first 120: all of them left the window
    expect((await post('PRESS01', 'counter', { count: 1000 })).status).toBe(200);
    expect(mes.state.PRESS01.count).toBe(1000);
  });

  it('stamps a request with the time it arrived, not the time its last byte came in', async () => {
    const arrived = clock.t;
    const socket = connect(mes.port, '127.0.0.1');
    const body = JSON.stringify({ count: 1 });
    socket.write(
      `POST /api/machines/PRESS01/counter HTTP/1.1\r\nhost: x\r\nauthorization: ${basic}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    // A slow sender: the body comes 5 s (of the sandbox's clock) after the headers.
    await new Promise((r) => setTimeout(r, 200));
    clock.t += 5000;
    socket.end(body);
    await eventuallyPasses(() => expect(mes.requests).toMatchObject([{ at: arrived, status: 200 }]), 5000);
    expect(mes.state.PRESS01.counterLog).toMatchObject([{ count: 1 }]);
    socket.destroy();
  });

  it('answers 503 while down and injected statuses for the next n requests', async () => {
    mes.setDown(true);
    expect((await post('PRESS01', 'counter', { count: 1 })).status).toBe(503);
    mes.setDown(false);
    mes.setFailNext(2, 502);
    expect((await post('PRESS01', 'counter', { count: 1 })).status).toBe(502);
    expect((await call('GET', '/api/authorization')).status).toBe(502);
    expect((await post('PRESS01', 'counter', { count: 1 })).status).toBe(200);
    expect(mes.requests.map((r) => r.status)).toEqual([503, 502, 502, 200]);
  });
});

describe('MES sandbox: injected network faults', () => {
  const stop = { type: 'Maintenance', running: 0 };

  it('a reset before processing leaves no trace; a reset after processing keeps what the MES recorded', async () => {
    mes.setResetNext(1, 'before');
    await expect(post('PRESS01', 'startstop', stop)).rejects.toThrow();
    expect(mes.state.PRESS01.startstop).toEqual([]);
    expect(mes.requests).toEqual([]);
    mes.setResetNext(1, 'after');
    await expect(post('PRESS01', 'startstop', stop)).rejects.toThrow();
    expect(mes.state.PRESS01.startstop).toEqual([{ at: clock.t, ...stop }]);
    expect(await post('PRESS01', 'startstop', { ...stop, running: 1 })).toMatchObject({ status: 200 });
  });

  it('stamps and rate-counts a request at its arrival, injected lag included', async () => {
    await mes.close();
    mes = await startMesSandbox({ credentials, machines, clock, perMinute: 2, arrivalDelayMs: (n) => [500, 0, 0][n] });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post('PRESS01', 'startstop', stop)).status);
    expect(mes.requests.map((r) => r.at - clock.t)).toEqual([500, 0, 0]);
    // The late first arrival still counts in the window of the third.
    expect(statuses).toEqual([200, 200, 429]);
    expect(mes.busiestMinute()).toBe(3);
    // One gateway's part of the company's window: only the requests it picks.
    expect(mes.busiestMinute((r) => r.status === 200)).toBe(2);
  });
});

describe('MES sandbox: GET /api/downtimes', () => {
  async function token(): Promise<string> {
    const res = await call('POST', '/api/authorization', JSON.stringify({ scopes: ['productions_write'] }));
    return (JSON.parse(res.text) as { token: string }).token;
  }
  const list = async (query: string, t: string) => {
    const res = await call('GET', `/api/downtimes?access_token=${t}${query}`, undefined, null);
    return {
      status: res.status,
      body: res.status === 200 ? (JSON.parse(res.text) as { 'start-time': string; 'end-time': string | null; machines: { code: string }[] }[]) : res.text,
    };
  };

  it('lists the downtimes its run/stop log opened and closed; a repeated stop opens none', async () => {
    const t = await token();
    const start = clock.t;
    await post('PRESS01', 'startstop', { type: 'Maintenance', running: 0 });
    clock.t += 5000;
    await post('PRESS01', 'startstop', { type: 'Maintenance', running: 0 });
    clock.t += 5000;
    await post('PRESS01', 'startstop', { type: 'Maintenance', running: 1 });
    await post('LINE 1/A', 'startstop', { type: 'Unplanned', running: 0 });
    const { status, body } = await list('', t);
    expect(status).toBe(200);
    expect(body).toMatchObject([
      { 'start-time': new Date(start).toISOString(), 'end-time': new Date(start + 10_000).toISOString(), machines: [{ code: 'PRESS01' }] },
      { 'start-time': new Date(start + 10_000).toISOString(), 'end-time': null, machines: [{ code: 'LINE 1/A' }] },
    ]);
    // The double stop is still in the log for tests to see.
    expect(mes.state.PRESS01.startstop.map((s) => s.running)).toEqual([0, 0, 1]);
    expect((await list(`&start-time-after=${new Date(start + 1).toISOString()}`, t)).body).toHaveLength(1);
    expect((await list(`&end-time-after=${new Date(start).toISOString()}`, t)).body).toMatchObject([{ machines: [{ code: 'PRESS01' }] }]);
    expect((await list('&start-time-after=yesterday', t)).status).toBe(400);
  });

  it('pages by 50, takes tokens only, and counts in the rate limit', async () => {
    const t = await token();
    for (let i = 0; i < 60; i++) {
      await post('PRESS01', 'startstop', { type: 'Maintenance', running: 0 });
      await post('PRESS01', 'startstop', { type: 'Maintenance', running: 1 });
      clock.t += 1000;
    }
    clock.t += 120_000;
    expect((await list('', t)).body).toHaveLength(50);
    expect((await list('&page=2', t)).body).toHaveLength(10);
    expect((await list('&page=3', t)).body).toEqual([]);
    expect((await call('GET', '/api/downtimes')).status).toBe(401);
    clock.t += 120_000;
    for (let i = 0; i < 120; i++) expect((await list('&page=3', t)).status).toBe(200);
    expect((await list('&page=3', t)).status).toBe(429);
  });
});
