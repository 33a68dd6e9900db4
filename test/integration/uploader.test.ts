/**
 * The uploader against the MES sandbox over real HTTP, on a warp clock so minutes of rate
 * limiting run in moments: the budget, fairness, priorities, Retry-After, backoff, and
 * the 400 rules of docs/delivery.md#answers-of-the-mes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pino from 'pino';
import Database from 'better-sqlite3';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { Timeline } from '../../src/outbox/timeline.js';
import { RequestLog } from '../../src/outbox/request-log.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { deviceSchema } from '../../src/config/schema.js';
import { MesClient } from '../../src/uplink/mes-client.js';
import { RateBudget } from '../../src/uplink/rate-budget.js';
import { recordedAcquire } from '../../src/uplink/recorded-acquire.js';
import { Uploader } from '../../src/uplink/uploader.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { WarpClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';
import { recordingLogger } from '../helpers/log-lines.js';

const codes = (n: number) => Array.from({ length: n }, (_, i) => `M${String(i).padStart(2, '0')}`);

function machines(list: string[]) {
  return deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: list.map((code) => ({
      code,
      count: { area: 'holding', address: 0, type: 'uint32' },
      waste: [
        { code: 'W1', source: { area: 'holding', address: 2 } },
        { code: 'W9', source: { area: 'holding', address: 3 } },
      ],
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

  async function setup(opts: {
    machines: number;
    perMinute: number;
    companyPerMinute?: number;
    auth?: 'good' | 'bad';
    known?: string[];
    concurrency?: number;
    waste?: string[];
    parameters?: string[];
    pausedUntil?: (now: number) => number;
    timeoutMs?: number;
    arrivalDelayMs?: (n: number) => number;
    logger?: pino.Logger;
    savePause?: (until: number) => void;
    random?: () => number;
    downtimes?: boolean;
    holdParametersMs?: number;
  }) {
    const clock = new WarpClock();
    const list = codes(opts.machines);
    const sandbox = (port?: number) =>
      startMesSandbox({
        credentials: { apiKey: 'k', apiSecret: 's' },
        machines: Object.fromEntries(
          (opts.known ?? list).map((c) => [c, { downtimeTypes: ['Maintenance'], waste: opts.waste ?? ['W1'], parameters: opts.parameters }]),
        ),
        perMinute: opts.companyPerMinute ?? 120,
        clock,
        port,
        arrivalDelayMs: opts.arrivalDelayMs,
        downtimes: opts.downtimes,
      });
    mes = await sandbox();
    const db = openDatabase(join(dir, `${Math.random()}.db`));
    const state = new MachineStateStore(db);
    const requests = new RequestLog(db);
    const outbox = new Outbox(db, { alsoCommit: () => requests.writeAnswers() });
    const processor = new MachineProcessor(new SqliteMachineStore(db, state, outbox));
    processor.setMachines(machines(list).map((config) => ({ device: 'plc', config })));
    const budget = new RateBudget({ perMinute: opts.perMinute, clock });
    const client = new MesClient({
      baseUrl: mes.url,
      auth: { apiKey: 'k', apiSecret: opts.auth === 'bad' ? 'wrong' : 's', tokenAuth: false },
      timeoutMs: opts.timeoutMs ?? 5000,
      clock,
      acquire: recordedAcquire({
        budget,
        requests,
        clock,
        onStorageFault: (err) => {
          throw err;
        },
      }),
    });
    const pausedUntil = opts.pausedUntil?.(clock.now());
    const logger = opts.logger ?? pino({ level: 'silent' });
    // The backoff's jitter is fixed unless a test brings its own: the same delays every run.
    const random = opts.random ?? (() => 0.5);
    uploader = new Uploader({
      outbox,
      client,
      budget,
      clock,
      random,
      logger,
      concurrency: opts.concurrency,
      pausedUntil,
      savePause: opts.savePause,
      holdParametersMs: opts.holdParametersMs,
    });
    const read = (machine: string, values: Record<string, number | boolean>) =>
      processor.apply(
        Object.entries(values).map(([signal, value]) => ({ machine, signal, value, at: clock.now() })),
        clock.now(),
      );
    /** Run/stop outcomes in local history, oldest first. */
    const startStopHistory = () =>
      db
        .prepare<[], { body: string; outcome: string }>(`SELECT body, outcome FROM history WHERE kind = 'startstop' ORDER BY id`)
        .all()
        .map((r) => ({ running: (JSON.parse(r.body) as { running: number }).running, outcome: r.outcome }));
    /** The MES going away and coming back on the same port (nothing listens in between). */
    const mesDown = async () => {
      const port = mes!.port;
      await mes!.close();
      return async () => {
        mes = await sandbox(port);
      };
    };
    return { clock, list, outbox, read, uploader, budget, startStopHistory, mesDown, timeline: new Timeline(db) };
  }

  /** What the MES recorded as run/stop for a machine, `running` values in order. */
  const recorded = (machine: string) => mes!.state[machine].startstop.map((t) => t.running);

  /** What a process that died had sent for M00: straight to the MES, which takes it. */
  async function sentByDeadProcess(endpoint: 'counter' | 'startstop', body: object) {
    const sent = await fetch(`${mes!.url}/api/machines/M00/${endpoint}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('k:s').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(sent.status).toBe(200);
  }

  it('never exceeds requestsPerMinute in any minute and serves 50 machines in turn', async () => {
    const s = await setup({ machines: 50, perMinute: 100 });
    for (const m of s.list) s.read(m, { count: 0 });
    // Three rounds of production on every machine, queued while the uploader runs.
    for (const m of s.list) s.read(m, { count: 10 });
    s.uploader.start();
    await eventually(
      () => s.list.every((m) => mes!.state[m].count === 10),
      (ok) => ok,
      30_000,
      'first round',
    );
    for (const m of s.list) s.read(m, { count: 25 });
    for (const m of s.list) s.read(m, { count: 40 });
    await eventually(
      () => s.list.every((m) => mes!.state[m].count === 40),
      (ok) => ok,
      30_000,
      'all delivered',
    );

    expect(mes!.busiestMinute()).toBeLessThanOrEqual(100);
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
    await eventually(
      () => mes!.requests.length,
      (n) => n >= 4,
      30_000,
      'requests',
    );
    expect(mes!.requests[0].path).toBe('/api/machines/M02/startstop');
    expect(mes!.requests.slice(1, 4).every((r) => r.path.endsWith('/counter'))).toBe(true);
    // Parameters rode along with the counters: no separate parameters request was needed.
    await eventually(
      () => s.outbox.lanes().length,
      (n) => n === 0,
      30_000,
      'queue empty',
    );
    expect(mes!.requests.some((r) => r.path.endsWith('/parameters'))).toBe(false);
    expect(mes!.state.M00.parameters.temp).toBe(20);
  });

  it('at start, the first count takes the first send (parameters along), not the parameters read just before it', async () => {
    const s = await setup({ machines: 2, perMinute: 100, holdParametersMs: 2000 });
    // A PLC's first read: the counters' baseline, but already a change of each parameter.
    for (const m of s.list) s.read(m, { count: 0, 'param:temp': 20 });
    s.uploader.start();
    // The first rise of a count comes with the next poll.
    s.read('M00', { count: 5 });
    await eventually(
      () => s.outbox.lanes().length,
      (n) => n === 0,
      30_000,
      'queue empty',
    );

    expect(mes!.requests.map((r) => r.path)).toEqual(['/api/machines/M00/counter', '/api/machines/M01/parameters']);
    expect(mes!.state.M00).toMatchObject({ count: 5, parameters: { temp: 20 } });
  });

  it('at start, parameters with no count to ride along go once holdParametersMs is over', async () => {
    const s = await setup({ machines: 1, perMinute: 100, holdParametersMs: 2000 });
    s.read('M00', { count: 0, 'param:temp': 20 });
    const started = s.clock.now();
    s.uploader.start();
    await eventually(
      () => mes!.requests.length,
      (n) => n === 1,
      30_000,
      'parameters sent',
    );

    expect(mes!.requests[0].path).toBe('/api/machines/M00/parameters');
    expect(mes!.requests[0].at - started).toBeGreaterThanOrEqual(2000);
    expect(mes!.state.M00.parameters.temp).toBe(20);
  });

  it('on 429 pauses every send for Retry-After, and still delivers everything', async () => {
    // Other integrations of the company use most of the 120/min: the MES allows this gateway 10.
    // One request at a time, so none can already be on its way when the 429 arrives.
    const s = await setup({ machines: 30, perMinute: 100, companyPerMinute: 10, concurrency: 1 });
    for (const m of s.list) s.read(m, { count: 0 });
    for (const m of s.list) s.read(m, { count: 3 });
    s.uploader.start();
    await eventually(
      () => s.list.every((m) => mes!.state[m].count === 3),
      (ok) => ok,
      30_000,
      'all delivered',
    );
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
    // A budget whose spacing (10 ms) is far below the delays, so the gaps are the backoff's.
    const s = await setup({ machines: 1, perMinute: 6000 });
    s.read('M00', { count: 0 });
    s.read('M00', { count: 9 });
    mes!.setDown(true);
    s.uploader.start();
    await eventually(
      () => mes!.requests.length,
      (n) => n >= 6,
      30_000,
      'retries',
    );
    mes!.setDown(false);
    await eventually(
      () => mes!.state.M00.count,
      (c) => c === 9,
      30_000,
      'delivered after outage',
    );
    const gaps = mes!.requests
      .slice(0, 6)
      .map((r, i, all) => (i ? r.at - all[i - 1].at : 0))
      .slice(1);
    // The jitter is fixed at half the ceiling: 500 ms, then doubling, each gap a little
    // longer than its delay (the loop's own turns), never shorter.
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(500 * 2 ** i);
      expect(gap).toBeLessThan(500 * 2 ** i + 500);
    });
    // The sandbox counts the value before its answer reaches the uploader.
    await eventually(
      () => s.uploader.health.reachable,
      (r) => r === true,
      30_000,
      'reachable again',
    );
  });

  it('dead-letters what the MES refuses without blocking the other machines', async () => {
    const log = recordingLogger();
    const s = await setup({ machines: 3, perMinute: 100, known: ['M00', 'M02'], logger: log.logger });
    for (const m of s.list) s.read(m, { count: 0 });
    for (const m of s.list) s.read(m, { count: 4 });
    s.uploader.start();
    await eventually(
      () => s.outbox.deadLetters().length,
      (n) => n === 1,
      30_000,
      'dead letter',
    );
    await eventually(
      () => [mes!.state.M00.count, mes!.state.M02.count],
      (c) => c[0] === 4 && c[1] === 4,
      30_000,
      'others delivered',
    );
    expect(s.outbox.deadLetters()[0]).toMatchObject({ machine: 'M01', kind: 'counter', status: 400 });
    expect(s.outbox.deadLetters()[0].reason).toMatch(/M01/);
    expect(log.lines('mes.dead_letter')).toEqual([
      expect.objectContaining({ machine: 'M01', kind: 'counter', rejection: 'unknown-machine', deadLetter: s.outbox.deadLetters()[0].id }),
    ]);
  });

  it('an unknown waste code is dead-lettered alone; the count and the other waste still arrive', async () => {
    const log = recordingLogger();
    const s = await setup({ machines: 1, perMinute: 100, logger: log.logger });
    s.read('M00', { count: 0, 'waste:W1': 0, 'waste:W9': 0 });
    s.read('M00', { count: 50, 'waste:W1': 2, 'waste:W9': 3 });
    s.uploader.start();
    await eventually(
      () => s.outbox.deadLetters(),
      (d) => d.length === 1,
      30_000,
      'dead letter',
    );
    await eventually(
      () => mes!.state.M00,
      (m) => m.count === 50 && m.waste.W1 === 2,
      30_000,
      'count and W1',
    );
    expect(s.outbox.deadLetters()[0].body).toEqual({ waste: [{ code: 'W9', quantity: 3 }] });
    expect(log.lines('counter.isolated')).toEqual([expect.objectContaining({ machine: 'M00', rejection: 'unknown-waste' })]);
    expect(log.lines('mes.dead_letter')[0]).toMatchObject({ machine: 'M00', rejection: 'unknown-waste' });
    // Later production and parameters still flow while W9 stays refused.
    s.read('M00', { count: 60, 'waste:W9': 4, 'param:temp': 31 });
    await eventually(
      () => mes!.state.M00.count,
      (c) => c === 60,
      30_000,
      'later count',
    );
    await eventually(
      () => mes!.state.M00.parameters.temp,
      (t) => t === 31,
      30_000,
      'parameter',
    );
    // W9 refused again at its new total: still one dead letter, now with the newest body.
    await eventually(
      () => s.outbox.deadLetters(),
      (d) => JSON.stringify(d[0]?.body) === JSON.stringify({ waste: [{ code: 'W9', quantity: 4 }] }),
      30_000,
      'refreshed dead letter',
    );
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
    await eventually(
      () => s.outbox.deadLetters(),
      (d) => d.length === 1 && d[0].reason.includes('W9'),
      30_000,
      'W9 dead-lettered',
    );
  });

  it('a value refused for another reason than "not greater" is not taken as delivered', async () => {
    // The first attempt never gets an answer (503); the re-send is refused for an unknown parameter.
    const s = await setup({ machines: 1, perMinute: 100, parameters: ['temp'] });
    s.read('M00', { count: 0 });
    s.read('M00', { count: 10, 'param:unknown': 1 });
    mes!.setFailNext(1, 503);
    s.uploader.start();
    await eventually(
      () => mes!.state.M00.count,
      (c) => c === 10,
      30_000,
      'count delivered after all',
    );
  });

  it('a combined re-send refused as "not greater" for one part settles none: a part whose attempt never arrived still arrives', async () => {
    const log = recordingLogger();
    const s = await setup({ machines: 1, perMinute: 100, waste: ['W1', 'W9'], logger: log.logger });
    s.read('M00', { count: 0, 'waste:W1': 0, 'waste:W9': 0 });
    s.read('M00', { count: 10, 'waste:W1': 1, 'waste:W9': 1 });
    // A process sent these totals and died before the answer: the MES has them.
    s.outbox.markAttempt('M00', s.outbox.pendingCounters('M00'));
    await sentByDeadProcess('counter', {
      count: 10,
      waste: [
        { code: 'W1', quantity: 1 },
        { code: 'W9', quantity: 1 },
      ],
    });
    // The next process marked newer totals (W1 unchanged) and died before its bytes left.
    s.read('M00', { count: 20, 'waste:W9': 2 });
    s.outbox.markAttempt('M00', s.outbox.pendingCounters('M00'));
    s.uploader.start();
    await eventually(
      () => s.outbox.lanes(),
      (l) => l.length === 0,
      30_000,
      'nothing pending',
    );
    // The re-send {count 20, W1 1, W9 2} is refused for W1 alone; count and W9 must not be taken as delivered with it.
    expect(mes!.state.M00).toMatchObject({ count: 20, waste: { W1: 1, W9: 2 } });
    expect(log.lines('counter.unsure')).toEqual([expect.objectContaining({ machine: 'M00', parts: ['count', 'waste:W1', 'waste:W9'] })]);
    expect(s.outbox.deadLetters()).toEqual([]);
  });

  it('a proxy answering 404 or a redirect keeps the items queued, and they arrive later', async () => {
    const s = await setup({ machines: 1, perMinute: 100 });
    s.read('M00', { count: 0, running: true });
    s.read('M00', { count: 7, running: false });
    mes!.setFailNext(3, 404);
    s.uploader.start();
    await eventually(
      () => mes!.state.M00,
      (m) => m.count === 7 && m.startstop.length === 1,
      30_000,
      'delivered after the 404s',
    );
    expect(s.outbox.deadLetters()).toEqual([]);
  });

  it('a 429 pause remembered from before a restart is honoured', async () => {
    const s = await setup({ machines: 1, perMinute: 100, pausedUntil: (now) => now + 45_000 });
    const started = s.clock.now();
    s.read('M00', { count: 0 });
    s.read('M00', { count: 3 });
    s.uploader.start();
    await eventually(
      () => mes!.state.M00.count,
      (c) => c === 3,
      30_000,
      'delivered',
    );
    expect(mes!.requests[0].at - started).toBeGreaterThanOrEqual(45_000);
  });

  it('says loudly that the MES is ahead, with the rebase command, in one dead letter however many parts follow', async () => {
    const log = recordingLogger();
    const s = await setup({ machines: 1, perMinute: 100, logger: log.logger });
    mes!.state.M00.count = 10_000;
    s.read('M00', { count: 500 });
    s.read('M00', { count: 510 });
    s.uploader.start();
    await eventually(
      () => s.outbox.deadLetters().length,
      (n) => n === 1,
      30_000,
      'dead letter',
    );
    expect(s.outbox.deadLetters()[0].reason).toMatch(/shopfloor-gateway rebase M00/);
    expect(log.lines('mes.ahead')[0]).toMatchObject({ machine: 'M00', level: 50 });
    expect(log.lines('mes.dead_letter')[0]).toMatchObject({ machine: 'M00', rejection: 'not-greater' });
    for (const c of [511, 512, 513]) {
      s.read('M00', { count: c });
      await eventually(
        () => s.outbox.deadLetters()[0].body,
        (b) => (b as { count: number }).count === c,
        30_000,
        `refused ${c}`,
      );
    }
    expect(s.outbox.deadLetters()).toHaveLength(1);
  });

  it('stops sending when Basic credentials are refused, says why, and checks again only every 15 minutes', async () => {
    const s = await setup({ machines: 1, perMinute: 100, auth: 'bad' });
    s.read('M00', { count: 1 });
    s.read('M00', { count: 2 });
    s.uploader.start();
    await eventually(
      () => s.uploader.health.authProblem,
      (p) => p !== undefined,
      30_000,
      'auth problem',
    );
    expect(s.uploader.health.authProblem).toMatch(/401/);
    // Time passes (warped): a single request now and then, never a stream of refused ones.
    await eventually(
      () => mes!.requests.length,
      (n) => n >= 3,
      30_000,
      'later checks',
    );
    const at = mes!.requests.map((r) => r.at);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(15 * 60_000);
    expect(s.uploader.health.authProblem).not.toMatch(/wrong/);
  });

  describe('run/stop exactly once', () => {
    /** A stop queued and started towards the MES; the start after it comes once the stop is settled. */
    async function stopThenStart(s: Awaited<ReturnType<typeof setup>>) {
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      s.uploader.start();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'stop settled',
      );
      s.read('M00', { running: true });
      s.uploader.wake();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0 && mes!.state.M00.startstop.length >= 2,
        10_000,
        'start delivered',
      );
    }

    it('a stop whose connection reset before the MES read it is found missing in its downtimes, sent again, and the start follows', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      mes!.setResetNext(1, 'before');
      await stopThenStart(s);
      expect(recorded('M00')).toEqual([0, 1]);
      expect(s.startStopHistory()).toEqual([
        { running: 0, outcome: 'delivered' },
        { running: 1, outcome: 'delivered' },
      ]);
      expect(mes!.requests.filter((r) => r.path === '/api/downtimes')).toHaveLength(1);
    });

    it('a stop whose connection reset after the MES took it is found in its downtimes, not sent again, and the next start follows', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      mes!.setResetNext(1, 'after');
      await stopThenStart(s);
      expect(recorded('M00')).toEqual([0, 1]);
      expect(s.startStopHistory()).toEqual([
        { running: 0, outcome: 'verified' },
        { running: 1, outcome: 'delivered' },
      ]);
      expect(s.timeline.transitions('M00', 0).map((t) => [t.running, t.sent, t.uncertain])).toEqual([
        [false, true, undefined],
        [true, true, undefined],
      ]);
    });

    it('a start whose connection reset after the MES took it is found as the end of the downtime, not sent again', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      await stopThenStart(s);
      s.read('M00', { running: false });
      s.uploader.wake();
      await eventually(
        () => recorded('M00'),
        (r) => r.length === 3,
        10_000,
        'second stop',
      );
      mes!.setResetNext(1, 'after');
      s.read('M00', { running: true });
      s.uploader.wake();
      await eventually(
        () => s.startStopHistory(),
        (h) => h.length === 4,
        10_000,
        'second start settled',
      );
      expect(recorded('M00')).toEqual([0, 1, 0, 1]);
      expect(s.startStopHistory().at(-1)).toEqual({ running: 1, outcome: 'verified' });
    });

    it('a stop that timed out is found in the downtimes and not sent again', async () => {
      // The answer comes after the client gave up (real timers; undici's timeouts tick about
      // once a second, so a 200 ms limit fires within ~1 s, well before the 2.5 s answer).
      const s = await setup({ machines: 1, perMinute: 100, timeoutMs: 200 });
      mes!.setDelay(2500);
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      s.uploader.start();
      await eventually(
        () => recorded('M00'),
        (r) => r.length === 1,
        10_000,
        'stop arrived',
      );
      mes!.setDelay(0);
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'stop settled',
      );
      s.read('M00', { running: true });
      s.uploader.wake();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0 && mes!.state.M00.startstop.length >= 2,
        10_000,
        'start delivered',
      );
      expect(recorded('M00')).toEqual([0, 1]);
      expect(s.startStopHistory().map((h) => h.outcome)).toEqual(['verified', 'delivered']);
      expect(s.uploader.stats.requests['startstop 0']).toBe(1);
    });

    it('after 3 checks without a usable answer (5xx), an uncertain stop is taken as received, said once, not sent again', async () => {
      const log = recordingLogger();
      const s = await setup({ machines: 1, perMinute: 100, logger: log.logger });
      // The stop gets a 500 whose answer is lost (it never arrived); each of the 3 checks then fails at its token request.
      mes!.setResetNext(1, 'after');
      mes!.setFailNext(4, 500);
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      s.uploader.start();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'stop settled',
      );
      expect(s.startStopHistory()).toEqual([{ running: 0, outcome: 'uncertain' }]);
      expect(log.lines('startstop.unverifiable')).toHaveLength(1);
      expect(mes!.requests.filter((r) => r.status === 500)).toHaveLength(4);
      expect(recorded('M00')).toEqual([]);
    });

    it('where the MES has no downtimes endpoint (404), an uncertain stop is taken as received, said once, not sent again', async () => {
      const log = recordingLogger();
      const s = await setup({ machines: 1, perMinute: 100, downtimes: false, logger: log.logger });
      mes!.setResetNext(1, 'before');
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      s.uploader.start();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'stop settled',
      );
      s.read('M00', { running: true });
      s.uploader.wake();
      await eventually(
        () => recorded('M00'),
        (r) => r.length === 1,
        10_000,
        'start delivered',
      );
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'queue empty',
      );
      // The old rule: the MES missed the stop, and the start after it is all it gets.
      expect(recorded('M00')).toEqual([1]);
      expect(s.startStopHistory()).toEqual([
        { running: 0, outcome: 'uncertain' },
        { running: 1, outcome: 'delivered' },
      ]);
      expect(log.lines('startstop.unverifiable')).toHaveLength(1);
      expect(mes!.requests.filter((r) => r.path === '/api/downtimes')).toHaveLength(1);
    });

    it('a 200 whose local commit failed (SQLITE_FULL) is not sent again', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      const deliver = s.outbox.startStopDelivered.bind(s.outbox);
      let full = true;
      s.outbox.startStopDelivered = (...args) => {
        if (!full) return deliver(...args);
        full = false;
        throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      };
      await stopThenStart(s);
      expect(full).toBe(false);
      expect(recorded('M00')).toEqual([0, 1]);
      // The MES's 200 is kept in memory and recorded once writing works again (Uploader.settle),
      // before anything else is sent for the machine: delivered, not merely uncertain.
      expect(s.startStopHistory().map((h) => h.outcome)).toEqual(['delivered', 'delivered']);
    });

    /** A stop a process that died had marked as on the wire: what became of it is unknown. */
    async function markedStop() {
      const s = await setup({ machines: 1, perMinute: 100 });
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      const item = s.outbox.nextStartStop('M00', s.clock.now())!;
      s.outbox.markStartStopAttempt(item.id, s.clock.now());
      return s;
    }

    it('a transition marked by a process that died, which the MES got, is found in its downtimes and not sent', async () => {
      const s = await markedStop();
      // What the dead process sent before it died.
      await sentByDeadProcess('startstop', { type: 'Maintenance', running: 0 });
      s.uploader.start();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'settled',
      );
      expect(recorded('M00')).toEqual([0]);
      expect(s.startStopHistory()).toEqual([{ running: 0, outcome: 'verified' }]);
    });

    it('a transition marked by a process that died before it reached the MES is sent', async () => {
      const s = await markedStop();
      s.uploader.start();
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'settled',
      );
      expect(recorded('M00')).toEqual([0]);
      expect(s.startStopHistory()).toEqual([{ running: 0, outcome: 'delivered' }]);
    });

    /**
     * Transitions an earlier process delivered, and the next one it marked and died with before
     * its bytes left: all within one millisecond (the uploader is not running, the clock stands).
     */
    async function deliveredThenLost(running: boolean[]) {
      const s = await setup({ machines: 1, perMinute: 100 });
      s.read('M00', { running: true });
      for (const [i, r] of running.entries()) {
        s.read('M00', { running: r });
        const item = s.outbox.nextStartStop('M00', s.clock.now())!;
        s.outbox.markStartStopAttempt(item.id, s.clock.now());
        if (i === running.length - 1) break;
        await sentByDeadProcess('startstop', { type: item.type, running: item.running });
        s.outbox.startStopDelivered('M00', item, s.clock.now());
      }
      s.uploader.start();
      await eventually(
        () => s.startStopHistory().length,
        (n) => n === running.length,
        10_000,
        'the lost one settled',
      );
      return s;
    }

    it('a start lost on the way is sent, though the downtime before the last stop ended within the clock-skew allowance', async () => {
      const s = await deliveredThenLost([false, true, false, true]);
      // The downtime the first start closed ended < 2 s before the attempt, but the MES's newest one is open: the MES is stopped.
      expect(recorded('M00')).toEqual([0, 1, 0, 1]);
      expect(s.startStopHistory().at(-1)).toEqual({ running: 1, outcome: 'delivered' });
    });

    it('a stop lost on the way is sent, though the last downtime started within the clock-skew allowance', async () => {
      const s = await deliveredThenLost([false, true, false]);
      // The downtime the first stop opened started < 2 s before the attempt, but the start closed it: the MES is running.
      expect(recorded('M00')).toEqual([0, 1, 0]);
      expect(s.startStopHistory().at(-1)).toEqual({ running: 0, outcome: 'delivered' });
    });

    it('a stop refused a connection (it never left) is sent again once the MES is back', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      const back = await s.mesDown();
      s.read('M00', { running: true });
      s.read('M00', { running: false });
      s.uploader.start();
      await eventually(
        () => s.uploader.stats.requests['startstop 0'] ?? 0,
        (n) => n >= 2,
        10_000,
        'refused connections',
      );
      // The status says why, by the transport error's code.
      expect(s.uploader.health).toMatchObject({ reachable: false, lastErrorCode: 'ECONNREFUSED', lastError: expect.stringContaining('ECONNREFUSED') });
      await back();
      await eventually(
        () => mes!.state.M00.startstop.length,
        (n) => n >= 1,
        10_000,
        'stop delivered',
      );
      await eventually(
        () => s.outbox.lanes(),
        (l) => l.length === 0,
        10_000,
        'queue empty',
      );
      expect(recorded('M00')).toEqual([0]);
      expect(s.startStopHistory()).toEqual([{ running: 0, outcome: 'delivered' }]);
    });
  });

  describe('rate budget as the MES sees it', () => {
    // Arrival lags the send by 0..15 ms (a new connection), in a pattern whose period does
    // not divide the budget: some request lands later than the one a budget after it.
    const lag = (n: number) => [15, 0, 10, 5, 12, 3, 8][n % 7];

    for (const perMinute of [120, 30]) {
      it(`at ${perMinute}/min flat out, no 60 s window of arrivals holds more than ${perMinute}, and no 429`, async () => {
        const machinesNeeded = Math.round(perMinute * 3.3);
        const s = await setup({ machines: machinesNeeded, perMinute, companyPerMinute: perMinute, concurrency: 1, arrivalDelayMs: lag });
        for (const m of s.list) s.read(m, { count: 0 });
        for (const m of s.list) s.read(m, { count: 1 });
        s.uploader.start();
        await eventually(
          () => mes!.requests.length,
          (n) => n >= machinesNeeded,
          60_000,
          'all sent',
        );
        expect(mes!.requests.filter((r) => r.status === 429)).toEqual([]);
        expect(mes!.busiestMinute()).toBeLessThanOrEqual(perMinute);
        // Flat out means the budget is used, not starved: the busiest minute is nearly full.
        expect(mes!.busiestMinute()).toBeGreaterThanOrEqual(perMinute - 5);
      });
    }
  });

  describe('Retry-After cap', () => {
    const MIN = 60_000;
    /** Warnings as pino writes them, for their `event` fields. */
    function warnings() {
      const lines: { event?: string; askedMs?: number; pausedMs?: number }[] = [];
      return { lines, logger: pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) }) };
    }

    it('a Retry-After of 99999 s pauses 15 min, not 27.8 h, says so once, remembers the cut pause, then delivers', async () => {
      const log = warnings();
      const saved: number[] = [];
      const s = await setup({ machines: 1, perMinute: 100, logger: log.logger, savePause: (u) => saved.push(u) });
      s.read('M00', { count: 0 });
      s.read('M00', { count: 5 });
      mes!.setFailNext(1, 429, { 'retry-after': '99999' });
      s.uploader.start();
      await eventually(
        () => mes!.state.M00.count,
        (c) => c === 5,
        10_000,
        'delivered after the pause',
      );
      const [limited, next] = mes!.requests;
      expect(limited.status).toBe(429);
      expect(next.at - limited.at).toBeGreaterThanOrEqual(15 * MIN);
      expect(next.at - limited.at).toBeLessThan(16 * MIN);
      expect(saved).toHaveLength(1);
      expect(saved[0] - limited.at).toBeLessThan(15 * MIN + 1000);
      expect(log.lines.filter((l) => l.event === 'mes.pause_capped')).toMatchObject([{ askedMs: 99_999_000, pausedMs: 15 * MIN }]);
      // The answer after the pause ends it for the status page.
      await eventually(
        () => s.uploader.health.rateLimit,
        (p) => p === undefined,
        10_000,
        'pause cleared',
      );
    });

    it('shows a cut pause while it lasts: since, until and what the MES asked', async () => {
      const s = await setup({ machines: 1, perMinute: 100, pausedUntil: (now) => now + 99_999_000 });
      const p = s.uploader.health.rateLimit!;
      expect(p.until - p.since).toBe(15 * MIN);
      expect(p).toMatchObject({ askedMs: 99_999_000, capMs: 15 * MIN });
      expect(s.uploader.health.pausedUntil).toBe(p.until);
    });

    it('a pause remembered from before a restart that is longer than the cap is cut to it at start', async () => {
      const saved: number[] = [];
      const s = await setup({ machines: 1, perMinute: 100, pausedUntil: (now) => now + 100_000 * 1000, savePause: (u) => saved.push(u) });
      const started = s.clock.now();
      expect(saved).toEqual([started + 15 * MIN]);
      s.read('M00', { count: 0 });
      s.read('M00', { count: 3 });
      s.uploader.start();
      await eventually(
        () => mes!.state.M00.count,
        (c) => c === 3,
        10_000,
        'delivered',
      );
      expect(mes!.requests[0].at - started).toBeGreaterThanOrEqual(15 * MIN);
      expect(mes!.requests[0].at - started).toBeLessThan(16 * MIN);
    });

    it('a 429 without Retry-After, or with an unreadable one, pauses one minute', async () => {
      const s = await setup({ machines: 1, perMinute: 100 });
      s.read('M00', { count: 0 });
      s.read('M00', { count: 4 });
      mes!.setFailNext(2, 429, { 'retry-after': 'abc' });
      s.uploader.start();
      await eventually(
        () => mes!.state.M00.count,
        (c) => c === 4,
        10_000,
        'delivered',
      );
      const at = mes!.requests.map((r) => r.at);
      expect(at).toHaveLength(3);
      for (const gap of [at[1] - at[0], at[2] - at[1]]) {
        expect(gap).toBeGreaterThanOrEqual(MIN);
        expect(gap).toBeLessThan(MIN + 1000);
      }
    });
  });
});
