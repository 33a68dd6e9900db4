/**
 * The outbox on the SD card. (1) change-enqueue + delivery-ack cycles per second through the
 * real code — processor batch, then the uploader's sequence for one counter request (pending,
 * send record with the attempt marker, answer, delivery) — against a bare better-sqlite3
 * insert/delete loop with the same pragmas, same run, 5 runs (BENCH_QUICK=1: 3, shorter).
 * (2) fsync/fdatasync calls per second of the gateway process at 50 devices × 20 signals
 * polled every second (bench/plant.ts), counted with `strace -f -c`.
 * Run: npm run bench -- outbox
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/outbox/db.js';
import { MachineStateStore } from '../src/outbox/machine-state.js';
import { Outbox } from '../src/outbox/outbox.js';
import { RequestLog } from '../src/outbox/request-log.js';
import { SqliteMachineStore } from '../src/outbox/machine-store.js';
import { MachineProcessor } from '../src/machine/processor.js';
import { deviceSchema } from '../src/config/schema.js';
import { spread, startPlant } from './plant.js';

const quick = process.env.BENCH_QUICK === '1';
const RUNS = quick ? 3 : 5;
const CYCLES = quick ? 300 : 2000;

const dir = mkdtempSync(join(tmpdir(), 'sfg-bench-outbox-'));

function gatewayCycles(run: number): number {
  const db = openDatabase(join(dir, `gateway-${run}.db`));
  const requests = new RequestLog(db);
  const outbox = new Outbox(db, { alsoCommit: () => requests.writeAnswers() });
  const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), outbox));
  const device = deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: [{ code: 'M1', count: { area: 'holding', address: 0 } }],
  });
  processor.setMachines([{ device: 'plc', config: device.machines[0] }]);
  processor.apply([{ machine: 'M1', signal: 'count', value: 0, at: 0 }], 0);
  const start = process.hrtime.bigint();
  for (let i = 1; i <= CYCLES; i++) {
    const at = i * 1000;
    processor.apply([{ machine: 'M1', signal: 'count', value: i, at }], at);
    const values = outbox.pendingCounters('M1');
    const params = outbox.pendingParameters('M1');
    outbox.sentBefore('M1', 'count');
    const row = requests.record(at, () => outbox.markAttempt('M1', values));
    requests.answered(row, at + 20);
    outbox.counterDelivered('M1', values, params, { count: values[0].total }, at + 20);
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return CYCLES / s;
}

function bareCycles(run: number): number {
  const db = openDatabase(join(dir, `bare-${run}.db`));
  db.exec('CREATE TABLE q (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO q (body) VALUES (?)');
  const remove = db.prepare('DELETE FROM q WHERE id = ?');
  const start = process.hrtime.bigint();
  for (let i = 1; i <= CYCLES; i++) remove.run(insert.run(JSON.stringify({ count: i })).lastInsertRowid);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return CYCLES / s;
}

async function fsyncsPerSecond(devices: number, seconds: number): Promise<number> {
  const plant = await startPlant(devices);
  try {
    await new Promise((r) => setTimeout(r, 15_000)); // past start-up and the first deliveries
    const strace = spawn('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-p', String(plant.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let report = '';
    strace.stderr.on('data', (c: Buffer) => (report += c.toString()));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    strace.kill('SIGINT');
    await new Promise((r) => strace.once('exit', r));
    const calls = [...report.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    return calls / seconds;
  } finally {
    await plant.stop();
  }
}

try {
  const gateway: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    bare.push(bareCycles(r));
    gateway.push(gatewayCycles(r));
  }
  const ratios = gateway.map((g, i) => g / bare[i]);
  console.log(`cycles/s over ${RUNS} runs of ${CYCLES} (min / median / max), SQLite WAL synchronous=FULL`);
  console.log(`bare insert + delete (2 commits)                         ${spread(bare, 0)}`);
  console.log(`processor + uploader sequence (3 commits)                ${spread(gateway, 0)}`);
  console.log(`ratio                                                    ${spread(ratios, 2)}   target >= 0.5`);
  if (spawnSync('strace', ['-V']).status === 0) {
    const seconds = quick ? 10 : 30;
    const rate = await fsyncsPerSecond(50, seconds);
    console.log(`fsync + fdatasync per second, gateway at 50 devices × 20 signals, 1 s polling, over ${seconds} s: ${rate.toFixed(1)}   target < 10`);
  } else console.log('fsyncs per second: strace is not installed, not measured');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
