/**
 * What the SD card pays (docs/delivery.md#writes-per-request): at most two commits per MES
 * request (one before the bytes leave, one after the answer), none for a poll that changed
 * nothing. Counted as commit frames in the WAL, each an fsync under synchronous=FULL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase, type Db } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { RequestLog } from '../../src/outbox/request-log.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { deviceSchema } from '../../src/config/schema.js';
import { MesClient } from '../../src/uplink/mes-client.js';
import { RateBudget } from '../../src/uplink/rate-budget.js';
import { recordedAcquire } from '../../src/uplink/recorded-acquire.js';
import { Uploader } from '../../src/uplink/uploader.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { ManualClock, WarpClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';
import { stopCheckpoints, walCommits } from '../helpers/wal-commits.js';

const machines = deviceSchema.parse({
  device: 'plc',
  protocol: 'modbus-tcp',
  connection: { host: '127.0.0.1' },
  machines: ['M1', 'M2'].map((code) => ({
    code,
    count: { area: 'holding', address: 0, type: 'uint32' },
    waste: [{ code: 'W1', source: { area: 'holding', address: 2 } }],
    running: { area: 'coil', address: 0 },
    downtimeType: 'Maintenance',
    parameters: [{ code: 'temp', source: { area: 'input', address: 0 } }],
  })),
}).machines;

function store(file: string) {
  const db = openDatabase(file);
  stopCheckpoints(db);
  const requests = new RequestLog(db);
  const outbox = new Outbox(db, { alsoCommit: () => requests.writeAnswers() });
  const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), outbox));
  processor.setMachines(machines.map((config) => ({ device: 'plc', config })));
  const read = (machine: string, values: Record<string, number | boolean>, at: number) =>
    processor.apply(
      Object.entries(values).map(([signal, value]) => ({ machine, signal, value, at })),
      at,
    );
  return { db, requests, outbox, processor, read };
}

describe('writes to the SD card', () => {
  const dir = tempDir();
  let mes: MesSandbox | undefined;
  let uploader: Uploader | undefined;
  let db: Db | undefined;
  afterEach(async () => {
    await uploader?.stop();
    await mes?.close();
    db?.close();
  });

  it('costs at most two commits per MES request: counters, parameters and run/stop of two machines delivered', async () => {
    const clock = new WarpClock();
    mes = await startMesSandbox({
      credentials: { apiKey: 'k', apiSecret: 's' },
      machines: { M1: { downtimeTypes: ['Maintenance'], waste: ['W1'] }, M2: { downtimeTypes: ['Maintenance'], waste: ['W1'] } },
      clock,
    });
    const file = join(dir, 'gateway.db');
    const s = store(file);
    db = s.db;
    for (const m of ['M1', 'M2']) {
      s.read(m, { count: 100, 'waste:W1': 1, running: true, 'param:temp': 20 }, clock.now());
      s.read(m, { count: 150, 'waste:W1': 3, running: false, 'param:temp': 25 }, clock.now() + 1000);
    }
    const budget = new RateBudget({ perMinute: 100, clock });
    const client = new MesClient({
      baseUrl: mes.url,
      auth: { apiKey: 'k', apiSecret: 's', tokenAuth: false },
      timeoutMs: 5000,
      clock,
      acquire: recordedAcquire({
        budget,
        requests: s.requests,
        clock,
        onStorageFault: (err) => {
          throw err;
        },
      }),
    });
    const before = walCommits(file);
    uploader = new Uploader({ outbox: s.outbox, client, budget, clock, random: () => 0.5, logger: pino({ level: 'silent' }) });
    uploader.start();
    await eventually(
      () => s.outbox.summary().pending,
      (n) => n === 0,
      10_000,
      'everything delivered',
    );
    await uploader.stop();
    uploader = undefined;
    expect(mes.state.M1.count).toBe(150);
    expect(mes.state.M2.startstop.map((t) => t.running)).toEqual([0]);
    const requests = mes.requests.length;
    expect(requests).toBeGreaterThanOrEqual(4);
    expect(walCommits(file) - before).toBeLessThanOrEqual(2 * requests);
    // The answer times rode along with the deliveries: a restart still sees every request.
    expect(new RequestLog(s.db).recent(0)).toHaveLength(requests);
  });

  it('the answer of a request that settles nothing is committed on its own, once', async () => {
    const clock = new ManualClock();
    const file = join(dir, 'gateway.db');
    const s = store(file);
    db = s.db;
    const budget = new RateBudget({ perMinute: 100, clock });
    const acquire = recordedAcquire({
      budget,
      requests: s.requests,
      clock,
      onStorageFault: (err) => {
        throw err;
      },
    });
    const before = walCommits(file);
    const answered = await acquire();
    clock.advance(3000);
    answered();
    expect(walCommits(file) - before).toBe(1);
    clock.advance(0);
    expect(walCommits(file) - before).toBe(2);
    expect(s.requests.recent(0)).toEqual([clock.now()]);
  });

  it('writes nothing for polls where nothing changed', () => {
    const file = join(dir, 'gateway.db');
    const s = store(file);
    db = s.db;
    const values = { count: 100, 'waste:W1': 1, running: true, 'param:temp': 20 };
    s.read('M1', values, 0);
    s.read('M2', values, 0);
    const before = walCommits(file);
    for (let t = 1000; t <= 60_000; t += 1000) {
      s.read('M1', values, t);
      s.read('M2', values, t);
    }
    expect(walCommits(file) - before).toBe(0);
    // Moved at last: counted from the value read a minute ago, as before. (No tick ran: the
    // seen times were only in memory.)
    s.read('M1', { ...values, count: 130 }, 61_000);
    expect(s.outbox.pendingCounters('M1')).toEqual([{ signal: 'count', total: 130 }]);
  });

  it('still writes the seen time of an unchanged counter for a restart: by the tick, one commit per 10 s for all machines', () => {
    const file = join(dir, 'gateway.db');
    const s = store(file);
    db = s.db;
    const values = { count: 100, 'waste:W1': 1, running: true, 'param:temp': 20 };
    s.read('M1', values, 0);
    s.read('M2', values, 500);
    const before = walCommits(file);
    for (let t = 1000; t <= 60_000; t += 1000) {
      s.read('M1', values, t);
      s.read('M2', values, t + 500);
      s.processor.tick(t + 700, () => true);
    }
    const commits = walCommits(file) - before;
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(6);
    const state = new MachineStateStore(s.db);
    // At most two persist intervals behind the last read.
    expect(state.counter('M1', 'count')!.seenAt).toBeGreaterThanOrEqual(40_000);
    expect(state.counter('M2', 'waste:W1')!.seenAt).toBeGreaterThanOrEqual(40_000);
  });
});
