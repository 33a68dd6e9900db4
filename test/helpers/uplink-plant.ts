/**
 * The real delivery path — processor, outbox (SQLite file), scheduler, rate budget, MES
 * client, uploader — against the MES sandbox over real HTTP on 127.0.0.1, all on one
 * ManualClock that moves only while no request is on the wire. Simulated minutes pass in
 * seconds, and a request takes no simulated time, so what is measured is the scheduler and
 * the budget, not this machine's speed. Used by bench/freshness.bench.ts and the starvation test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase, type Db } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { deviceSchema } from '../../src/config/schema.js';
import { MesClient } from '../../src/uplink/mes-client.js';
import { RateBudget } from '../../src/uplink/rate-budget.js';
import { Uploader } from '../../src/uplink/uploader.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { ManualClock } from './clocks.js';

const DOWNTIME_TYPE = 'Maintenance';

/** What one machine's PLC shows; the plant's `step` changes it, each poll reads it. */
export interface SimMachine {
  code: string;
  count: number;
  waste: number;
  running: boolean;
  temp: number;
}

export interface UplinkPlantOptions {
  machines: number;
  /** The gateway's budget (requestsPerMinute). */
  perMinute: number;
  /** The sandbox's company limit. Default 120. */
  companyPerMinute?: number;
  /** Poll interval of the simulated PLCs. Default 1000 ms. */
  pollMs?: number;
}

export interface UplinkPlant {
  clock: ManualClock;
  mes: MesSandbox;
  db: Db;
  outbox: Outbox;
  machines: SimMachine[];
  /** Runs simulated time on to `until`; `step` changes the PLCs before every poll. */
  runUntil(until: number, step?: (now: number) => void): Promise<void>;
  /** Runs on, the PLCs unchanged, until the outbox is empty (or `maxMs` of simulated time passed); true if it emptied. */
  drain(maxMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Real wall-clock time one request may take on loopback before the driver gives up. */
const REQUEST_LIMIT_MS = 10_000;

export async function startUplinkPlant(o: UplinkPlantOptions): Promise<UplinkPlant> {
  const pollMs = o.pollMs ?? 1000;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const codes = Array.from({ length: o.machines }, (_, i) => `M${String(i).padStart(3, '0')}`);
  const mes = await startMesSandbox({
    credentials: { apiKey: 'k', apiSecret: 's' },
    machines: Object.fromEntries(codes.map((c) => [c, { downtimeTypes: [DOWNTIME_TYPE], waste: ['W1'] }])),
    perMinute: o.companyPerMinute ?? 120,
    clock,
  });
  const dir = mkdtempSync(join(tmpdir(), 'sfg-uplink-plant-'));
  const db = openDatabase(join(dir, 'gateway.db'));
  const outbox = new Outbox(db);
  const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), outbox));
  const device = deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: codes.map((code) => ({
      code,
      count: { area: 'holding', address: 0, type: 'uint32' },
      waste: [{ code: 'W1', source: { area: 'holding', address: 2 } }],
      running: { area: 'coil', address: 0 },
      downtimeType: DOWNTIME_TYPE,
      parameters: [{ code: 'temp', source: { area: 'input', address: 0 } }],
    })),
  });
  processor.setMachines(device.machines.map((config) => ({ device: 'plc', config })));
  const budget = new RateBudget({ perMinute: o.perMinute, clock });
  let onWire = 0;
  const client = new MesClient({
    baseUrl: mes.url,
    auth: { apiKey: 'k', apiSecret: 's', tokenAuth: false },
    timeoutMs: 5000,
    clock,
    acquire: async () => {
      const answered = await budget.acquire();
      onWire++;
      return () => {
        onWire--;
        answered();
      };
    },
  });
  const uploader = new Uploader({ outbox, client, budget, clock, random: () => 0.5, logger: pino({ level: 'silent' }) });
  const machines: SimMachine[] = codes.map((code) => ({ code, count: 0, waste: 0, running: true, temp: 20 }));
  const poll = () => {
    const at = clock.now();
    processor.apply(
      machines.flatMap((m) => [
        { machine: m.code, signal: 'count', value: m.count, at },
        { machine: m.code, signal: 'waste:W1', value: m.waste, at },
        { machine: m.code, signal: 'running', value: m.running, at },
        { machine: m.code, signal: 'param:temp', value: m.temp, at },
      ]),
      at,
    );
    uploader.wake();
  };
  poll();
  uploader.start();

  /** Lets answers, settling and the uploader's next pick run until everything waits on the clock. */
  const quiesce = async () => {
    const giveUp = Date.now() + REQUEST_LIMIT_MS;
    for (let still = 0; still < 3; ) {
      await new Promise((r) => setImmediate(r));
      still = onWire === 0 ? still + 1 : 0;
      if (Date.now() > giveUp) throw new Error(`a request to the sandbox took over ${REQUEST_LIMIT_MS} ms`);
    }
  };
  let nextPoll = clock.now() + pollMs;
  const runUntil = async (until: number, step?: (now: number) => void) => {
    while (clock.now() < until) {
      await quiesce();
      const next = Math.min(until, nextPoll, clock.now() + Math.min(...clock.pending(), pollMs));
      await clock.advanceAndSettle(next - clock.now());
      if (clock.now() >= nextPoll) {
        step?.(clock.now());
        poll();
        nextPoll += pollMs;
      }
    }
    await quiesce();
  };
  return {
    clock,
    mes,
    db,
    outbox,
    machines,
    runUntil,
    drain: async (maxMs) => {
      const end = clock.now() + maxMs;
      while (outbox.lanes().length > 0 && clock.now() < end) await runUntil(Math.min(end, clock.now() + 10_000));
      return outbox.lanes().length === 0;
    },
    close: async () => {
      await uploader.stop();
      await client.close();
      await mes.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
