/**
 * Benchmarks (not tests): how fast the machine layer stores readings on this disk, how
 * long opening (with its integrity check) a well-filled database takes, and how long a
 * Modbus poll of a typical PLC takes. Run: npm run bench -- storage
 * Figures go in the closing notes, never into assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/outbox/db.js';
import { MachineStateStore } from '../src/outbox/machine-state.js';
import { Outbox } from '../src/outbox/outbox.js';
import { MachineProcessor } from '../src/machine/processor.js';
import { SqliteMachineStore } from '../src/outbox/machine-store.js';
import { deviceSchema } from '../src/config/schema.js';
import { initGuard, stepGuard } from '../src/machine/guard.js';

function time(label: string, n: number, unit: string, fn: (i: number) => void): void {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${label.padEnd(58)} ${(n / (ms / 1000)).toFixed(0).padStart(10)} ${unit}/s  (${(ms / n).toFixed(3)} ms each, n=${n})`);
}

const dir = mkdtempSync(join(tmpdir(), 'sfg-bench-'));
try {
  let state = initGuard(0, 'raw', 0);
  time('guard step (pure)', 1_000_000, 'reads', (i) => {
    state = stepGuard(state, i % 65536, i * 1000, { rollover: 65536 }).state;
  });

  const machines = Array.from({ length: 50 }, (_, i) => ({
    code: `M${i}`,
    count: { area: 'holding', address: i * 10, type: 'uint32' },
    waste: [{ code: 'W1', source: { area: 'holding', address: i * 10 + 2 } }],
    running: { area: 'coil', address: i },
    downtimeType: 'Unplanned',
    parameters: [{ code: 'temp', source: { area: 'input', address: i }, deadband: 0.5 }],
  }));
  const device = deviceSchema.parse({ device: 'bench', protocol: 'modbus-tcp', connection: { host: '127.0.0.1' }, machines });
  const db = openDatabase(join(dir, 'bench.db'));
  const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), new Outbox(db)));
  processor.setMachines(device.machines.map((config) => ({ device: 'bench', config })));
  time('poll batch of 50 machines × 4 signals, SQLite WAL FULL', 2000, 'batches', (i) => {
    const at = 1000 * i;
    processor.apply(
      device.machines.flatMap((m) => [
        { machine: m.code, signal: 'count', value: i * 3, at },
        { machine: m.code, signal: 'waste:W1', value: Math.floor(i / 10), at },
        { machine: m.code, signal: 'running', value: i % 100 < 90, at },
        { machine: m.code, signal: 'param:temp', value: 20 + (i % 7), at },
      ]),
      at,
    );
  });
  const outbox = new Outbox(db);
  time('outbox lanes() with 50 machines pending', 20_000, 'calls', () => outbox.lanes());
  // A month of deliveries for 50 machines in history: what the integrity check at start and every 6 h reads.
  const history = db.prepare('INSERT INTO history (at, machine, kind, body, outcome) VALUES (?, ?, ?, ?, ?)');
  const body = JSON.stringify({ count: 123456, waste: [{ code: 'W1', quantity: 12 }], parameters: [{ name: 'temp', value: 21.5 }] });
  db.transaction(() => {
    for (let i = 0; i < 500_000; i++) history.run(i, `M${i % 50}`, 'counter', body, 'delivered');
  })();
  db.close();
  time('open with quick_check, 500k history rows', 3, 'opens', () => openDatabase(join(dir, 'bench.db')).close());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
