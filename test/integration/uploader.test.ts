/**
 * The uploader against the MES sandbox over real HTTP, on a warp clock so minutes of rate
 * limiting run in moments: the budget, fairness, priorities, Retry-After, backoff, and
 * the 400 rules of docs/delivery.md#answers-of-the-mes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { deviceSchema } from '../../src/config/schema.js';
import { MesClient } from '../../src/uplink/mes-client.js';
import { RateBudget } from '../../src/uplink/rate-budget.js';
import { Uploader } from '../../src/uplink/uploader.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { WarpClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const codes = (n: number) => Array.from({ length: n }, (_, i) => `M${String(i).padStart(2, '0')}`);

function machines(list: string[]) {
  return deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: list.map((code) => ({
      code,
      count: { area: 'holding', address: 0, type: 'uint32' },
      waste: [{ code: 'W1', source: { area: 'holding', address: 2 } }, { code: 'W9', source: { area: 'holding', address: 3 } }],
      running: { area: 'coil', address: 0 },
      downtimeType: 'Maintenance',
      parameters: [{ code: 'temp', source: { area: 'input', address: 0 } }],
    })),
  }).machines;
}

describe('uploader', () => {
  const dir = tempDir();
  let mes: MesSandbox | undefined;
  let uploader: Uploader | undefined;
  afterEach(async () => {
    await uploader?.stop();
    await mes?.close();
  });

  async function setup(opts: { machines: number; perMinute: number; companyPerMinute?: number; auth?: 'good' | 'bad'; known?: string[]; concurrency?: number; waste?: string[]; parameters?: string[]; pausedUntil?: (now: number) => number; random?: () => number }) {
    const clock = new WarpClock();
    const list = codes(opts.machines);
    mes = await startMesSandbox({
      credentials: { apiKey: 'k', apiSecret: 's' },
      machines: Object.fromEntries((opts.known ?? list).map((c) => [c, { downtimeTypes: ['Maintenance'], waste: opts.waste ?? ['W1'], parameters: opts.parameters }])),
      perMinute: opts.companyPerMinute ?? 120,
      clock,
    });
    const db = openDatabase(join(dir, `${Math.random()}.db`));
    const state = new MachineStateStore(db);
    const outbox = new Outbox(db);
    const processor = new MachineProcessor(db, state, outbox, pino({ level: 'silent' }));
    processor.setMachines(machines(list).map((config) => ({ device: 'plc', config })));
    const budget = new RateBudget({ perMinute: opts.perMinute, clock });
    const client = new MesClient({
      baseUrl: mes.url,
      auth: { apiKey: 'k', apiSecret: opts.auth === 'bad' ? 'wrong' : 's', tokenAuth: false },
      timeoutMs: 5000,
      clock,
      acquire: () => budget.acquire(),
    });
    const pausedUntil = opts.pausedUntil?.(clock.now());
    // The backoff's jitter is fixed unless a test brings its own: the same delays every run.
    const random = opts.random ?? (() => 0.5);
    uploader = new Uploader({ outbox, client, budget, clock, random, logger: pino({ level: 'silent' }), concurrency: opts.concurrency, pausedUntil });
    const read = (machine: string, values: Record<string, number | boolean>) =>
      processor.apply(Object.entries(values).map(([signal, value]) => ({ machine, signal, value, at: clock.now() })), clock.now());
    return { clock, list, outbox, read, uploader, budget };
  }

  /** The most requests the sandbox saw in any 60 s window. */
  function busiestMinute(): number {
    const at = mes!.requests.map((r) => r.at).sort((a, b) => a - b);
    let max = 0;
    for (let i = 0, j = 0; i < at.length; i++) {
      while (at[i] - at[j] >= 60_000) j++;
      max = Math.max(max, i - j + 1);
    }
    return max;
  }

  it('never exceeds requestsPerMinute in any minute and serves 50 machines in turn', async () => {
    const s = await setup({ machines: 50, perMinute: 100 });
    for (const m of s.list) s.read(m, { count: 0 });
    // Three rounds of production on every machine, queued while the uploader runs.
    for (const m of s.list) s.read(m, { count: 10 });
    s.uploader.start();
    await eventually(() => s.list.every((m) => mes!.state[m].count === 10), (ok) => ok, 30_000, 'first round');
    for (const m of s.list) s.read(m, { count: 25 });
    for (const m of s.list) s.read(m, { count: 40 });
    await eventually(() => s.list.every((m) => mes!.state[m].count === 40), (ok) => ok, 30_000, 'all delivered');

    expect(busiestMinute()).toBeLessThanOrEqual(100);
    // Coalescing: the two queued rounds went out as one request per machine.
    expect(mes!.requests.length).toBe(100);
    // Round robin: the first 50 requests reached 50 different machines.
    const first = mes!.requests.slice(0, 50).map((r) => decodeURIComponent(r.path.split('/')[3]));
    expect(new Set(first).size).toBe(50);
  });

  it('sends run/stop before counters, and counters before parameters', async () => {
    const s = await setup({ machines: 3, perMinute: 100 });
    for (const m of s.list) s.read(m, { count: 0, running: true });
    for (const m of s.list) s.read(m, { count: 5, 'param:temp': 20 });
    s.read('M02', { running: false });
    s.uploader.start();
    await eventually(() => mes!.requests.length, (n) => n >= 4, 30_000, 'requests');
    expect(mes!.requests[0].path).toBe('/api/machines/M02/startstop');
    expect(mes!.requests.slice(1, 4).every((r) => r.path.endsWith('/counter'))).toBe(true);
    // Parameters rode along with the counters: no separate parameters request was needed.
    await eventually(() => s.outbox.lanes().length, (n) => n === 0, 30_000, 'queue empty');
    expect(mes!.requests.some((r) => r.path.endsWith('/parameters'))).toBe(false);
    expect(mes!.state.M00.parameters.temp).toBe(20);
  });

  it('on 429 pauses every send for Retry-After, and still delivers everything', async () => {
    // Other integrations of the company use most of the 120/min: the MES allows this gateway 10.
    // One request at a time, so none can already be on its way when the 429 arrives.
    const s = await setup({ machines: 30, perMinute: 100, companyPerMinute: 10, concurrency: 1 });
    for (const m of s.list) s.read(m, { count: 0 });
    for (const m of s.list) s.read(m, { count: 3 });
    s.uploader.start();
    await eventually(() => s.list.every((m) => mes!.state[m].count === 3), (ok) => ok, 30_000, 'all delivered');
    const limited = mes!.requests.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      // No request of any machine went out before the MES said it could.
      const next = mes!.requests.find((x) => x.at > r.at);
      if (!next) continue;
      expect(next.at - r.at).toBeGreaterThanOrEqual(1000);
      // Waiting exactly as told means the next request finds the MES ready again.
      expect(next.status).toBe(200);
    }
    expect(s.uploader.stats.rateLimited).toBe(limited.length);
    // Pausing keeps 429s rare: far fewer than the requests that were refused the slot.
    expect(limited.length).toBeLessThan(10);
  });

  it('backs off exponentially while the MES is down, then delivers', async () => {
    const s = await setup({ machines: 1, perMinute: 100 });
    s.read('M00', { count: 0 });
    s.read('M00', { count: 9 });
    mes!.setDown(true);
    s.uploader.start();
    await eventually(() => mes!.requests.length, (n) => n >= 6, 30_000, 'retries');
    mes!.setDown(false);
    await eventually(() => mes!.state.M00.count, (c) => c === 9, 30_000, 'delivered after outage');
    const gaps = mes!.requests.slice(0, 6).map((r, i, all) => (i ? r.at - all[i - 1].at : 0)).slice(1);
    // The jitter is fixed at half the ceiling: 500 ms, then doubling, each gap a little
    // longer than its delay (the loop's own turns), never shorter.
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(500 * 2 ** i);
      expect(gap).toBeLessThan(500 * 2 ** i + 500);
    });
    // The sandbox counts the value before its answer reaches the uploader.
    await eventually(() => s.uploader.health.reachable, (r) => r === true, 30_000, 'reachable again');
  });

  it('dead-letters what the MES refuses without blocking the other machines', async () => {
    const s = await setup({ machines: 3, perMinute: 100, known: ['M00', 'M02'] });
    for (const m of s.list) s.read(m, { count: 0 });
    for (const m of s.list) s.read(m, { count: 4 });
    s.uploader.start();
    await eventually(() => s.outbox.deadLetters().length, (n) => n === 1, 30_000, 'dead letter');
    await eventually(() => [mes!.state.M00.count, mes!.state.M02.count], (c) => c[0] === 4 && c[1] === 4, 30_000, 'others delivered');
    expect(s.outbox.deadLetters()[0]).toMatchObject({ machine: 'M01', kind: 'counter', status: 400 });
    expect(s.outbox.deadLetters()[0].reason).toMatch(/M01/);
  });

  it('an unknown waste code is dead-lettered alone; the count and the other waste still arrive', async () => {
    const s = await setup({ machines: 1, perMinute: 100 });
    s.read('M00', { count: 0, 'waste:W1': 0, 'waste:W9': 0 });
    s.read('M00', { count: 50, 'waste:W1': 2, 'waste:W9': 3 });
    s.uploader.start();
    await eventually(() => s.outbox.deadLetters(), (d) => d.length === 1, 30_000, 'dead letter');
    await eventually(() => mes!.state.M00, (m) => m.count === 50 && m.waste.W1 === 2, 30_000, 'count and W1');
    expect(s.outbox.deadLetters()[0].body).toEqual({ waste: [{ code: 'W9', quantity: 3 }] });
    // Later production and parameters still flow while W9 stays refused.
    s.read('M00', { count: 60, 'waste:W9': 4, 'param:temp': 31 });
    await eventually(() => mes!.state.M00.count, (c) => c === 60, 30_000, 'later count');
    await eventually(() => mes!.state.M00.parameters.temp, (t) => t === 31, 30_000, 'parameter');
    // W9 refused again at its new total: still one dead letter, now with the newest body.
    await eventually(() => s.outbox.deadLetters(), (d) => JSON.stringify(d[0]?.body) === JSON.stringify({ waste: [{ code: 'W9', quantity: 4 }] }), 30_000, 'refreshed dead letter');
    expect(s.outbox.deadLetters()).toHaveLength(1);
  });

  it('on a busy line, every counter part gets its turn while an unknown waste code is isolated', async () => {
    const s = await setup({ machines: 1, perMinute: 100, concurrency: 1 });
    s.read('M00', { count: 0, 'waste:W1': 0, 'waste:W9': 0 });
    s.read('M00', { count: 1, 'waste:W1': 2, 'waste:W9': 3 });
    s.uploader.start();
    // The count moves before every request, so it is always pending.
    let count = 1;
    await eventually(
      () => {
        s.read('M00', { count: ++count });
        return mes!.state.M00.waste.W1;
      },
      (w1) => w1 === 2,
      30_000,
      'W1 delivered while the count keeps moving',
    );
    await eventually(() => s.outbox.deadLetters(), (d) => d.length === 1 && d[0].reason.includes('W9'), 30_000, 'W9 dead-lettered');
  });

  it('a value refused for another reason than "not greater" is not taken as delivered', async () => {
    // The first attempt never gets an answer (503); the re-send is refused for an unknown parameter.
    const s = await setup({ machines: 1, perMinute: 100, parameters: ['temp'] });
    s.read('M00', { count: 0 });
    s.read('M00', { count: 10, 'param:unknown': 1 });
    mes!.setFailNext(1, 503);
    s.uploader.start();
    await eventually(() => mes!.state.M00.count, (c) => c === 10, 30_000, 'count delivered after all');
  });

  it('a proxy answering 404 or a redirect keeps the items queued, and they arrive later', async () => {
    const s = await setup({ machines: 1, perMinute: 100 });
    s.read('M00', { count: 0, running: true });
    s.read('M00', { count: 7, running: false });
    mes!.setFailNext(3, 404);
    s.uploader.start();
    await eventually(() => mes!.state.M00, (m) => m.count === 7 && m.startstop.length === 1, 30_000, 'delivered after the 404s');
    expect(s.outbox.deadLetters()).toEqual([]);
  });

  it('a 429 pause remembered from before a restart is honoured', async () => {
    const s = await setup({ machines: 1, perMinute: 100, pausedUntil: (now) => now + 45_000 });
    const started = s.clock.now();
    s.read('M00', { count: 0 });
    s.read('M00', { count: 3 });
    s.uploader.start();
    await eventually(() => mes!.state.M00.count, (c) => c === 3, 30_000, 'delivered');
    expect(mes!.requests[0].at - started).toBeGreaterThanOrEqual(45_000);
  });

  it('says loudly that the MES is ahead, with the rebase command, in one dead letter however many parts follow', async () => {
    const s = await setup({ machines: 1, perMinute: 100 });
    mes!.state.M00.count = 10_000;
    s.read('M00', { count: 500 });
    s.read('M00', { count: 510 });
    s.uploader.start();
    await eventually(() => s.outbox.deadLetters().length, (n) => n === 1, 30_000, 'dead letter');
    expect(s.outbox.deadLetters()[0].reason).toMatch(/shopfloor-gateway rebase M00/);
    for (const c of [511, 512, 513]) {
      s.read('M00', { count: c });
      await eventually(() => s.outbox.deadLetters()[0].body, (b) => (b as { count: number }).count === c, 30_000, `refused ${c}`);
    }
    expect(s.outbox.deadLetters()).toHaveLength(1);
  });

  it('stops sending when Basic credentials are refused, says why, and checks again only every 15 minutes', async () => {
    const s = await setup({ machines: 1, perMinute: 100, auth: 'bad' });
    s.read('M00', { count: 1 });
    s.read('M00', { count: 2 });
    s.uploader.start();
    await eventually(() => s.uploader.health.authProblem, (p) => p !== undefined, 30_000, 'auth problem');
    expect(s.uploader.health.authProblem).toMatch(/401/);
    // Time passes (warped): a single request now and then, never a stream of refused ones.
    await eventually(() => mes!.requests.length, (n) => n >= 3, 30_000, 'later checks');
    const at = mes!.requests.map((r) => r.at);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(15 * 60_000);
    expect(s.uploader.health.authProblem).not.toMatch(/wrong/);
  });
});
