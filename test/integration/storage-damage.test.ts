/**
 * The real gateway process on a damaged, emptied or replaced database, and two gateways on
 * one database. Each refusal is one line with a stable event, a non-zero exit (78 for
 * damage, which the systemd unit does not restart into), no stack trace or unhandled
 * rejection, and the damaged file left as it was. The documented recovery then works.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, openSync, statSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { Timeline } from '../../src/outbox/timeline.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { deviceSchema } from '../../src/config/schema.js';
import { parse } from 'yaml';
import { freePort } from '../../src/sim/free-port.js';
import { startGateway } from '../helpers/gateway-process.js';
import { writeConfig, type TestConfig } from '../helpers/config-files.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { tempDir } from '../helpers/tmp.js';
import { main as cli } from '../../src/cli/main.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { healthProblems } from '../../src/web/health.js';
import { ManualClock } from '../helpers/clocks.js';
import { captureOutput, restoreOutputAfterEach } from '../helpers/capture-output.js';

const deviceYaml = (port: number) => `device: plc
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 200 }
machines:
  - { code: M1, count: { area: holding, address: 0 }, running: { area: coil, address: 0 }, downtimeType: Maintenance }
`;

describe('damaged, missing or shared database', () => {
  const dir = tempDir();
  const defer = deferCleanup();
  restoreOutputAfterEach();

  /** A config whose database holds state: M1 counted 100 → 150, 120 delivered, history and samples. */
  async function withState(): Promise<TestConfig> {
    // Nothing listens on the device port: the gateway runs (or refuses) without a PLC.
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { plc: deviceYaml(await freePort()) } });
    const db = openDatabase(cfg.dbPath);
    const outbox = new Outbox(db);
    const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), outbox));
    const device = deviceSchema.parse(parse(deviceYaml(1)));
    processor.setMachines(device.machines.map((config) => ({ device: 'plc', config })));
    const timeline = new Timeline(db);
    processor.apply([{ machine: 'M1', signal: 'count', value: 100, at: 1 }], 1);
    for (let i = 1; i <= 400; i++) {
      processor.apply([{ machine: 'M1', signal: 'count', value: 100 + i / 8, at: 1 + i }], 1 + i);
      timeline.sampleProduction(1 + i, 0);
    }
    outbox.counterDelivered('M1', [{ signal: 'count', total: 120 }], [], { count: 120 }, 500);
    db.close();
    return cfg;
  }

  /** Overwrites the root page of a table with garbage (the file is closed, the WAL checkpointed). */
  function damageTable(dbPath: string, table: string): void {
    const db = openDatabase(dbPath);
    const { rootpage } = db.prepare<[string], { rootpage: number }>('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table)!;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const fd = openSync(dbPath, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
  }

  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  const refusalCodes: Record<string, string> = {
    'storage.corrupt': 'SFG_STORAGE_DAMAGED',
    'storage.missing': 'SFG_STORAGE_MISSING',
    'storage.locked': 'SFG_STORAGE_LOCKED',
  };

  /** Starts the gateway and expects it to refuse: exit code, the one line, nothing else said. */
  async function expectRefusal(cfg: TestConfig, event: string, exit: number): Promise<Record<string, unknown>> {
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill('SIGKILL'));
    const stderr: string[] = [];
    gw.child.stderr!.on('data', (d) => stderr.push(String(d)));
    const line = await gw.waitForLog((l) => l.event === event);
    expect(line.code).toBe(refusalCodes[event]);
    const code = await new Promise((done) => (gw.child.exitCode !== null ? done(gw.child.exitCode) : gw.child.once('exit', done)));
    expect(code).toBe(exit);
    expect(gw.logs.filter((l) => (l.level as number) >= 50)).toEqual([line]);
    expect(gw.logs.some((l) => l.event === 'gateway.started')).toBe(false);
    expect(stderr.join('')).toBe('');
    if (exit === 78) expect(line.msg).toMatch(/README\.md, "Damaged or missing database"/);
    return line;
  }

  it('gives each new database a random id (a version-4 UUID) in its marker, kept on reopening', () => {
    const ids = ['a', 'b'].map((name) => {
      const path = `${dir}/${name}.db`;
      openDatabase(path).close();
      const id = readFileSync(`${path}.id`, 'utf8').trim();
      const again = openDatabase(path);
      again.close();
      expect(readFileSync(`${path}.id`, 'utf8').trim()).toBe(id);
      return id;
    });
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('refuses a damaged counter_state page and leaves the file as it was', async () => {
    const cfg = await withState();
    damageTable(cfg.dbPath, 'counter_state');
    const before = sha(cfg.dbPath);
    const line = await expectRefusal(cfg, 'storage.corrupt', 78);
    expect(line.msg).toContain(cfg.dbPath);
    expect(sha(cfg.dbPath)).toBe(before);
  });

  it.each(['history', 'production_samples'])('refuses a damaged %s page', async (table) => {
    const cfg = await withState();
    damageTable(cfg.dbPath, table);
    await expectRefusal(cfg, 'storage.corrupt', 78);
  });

  it('refuses a database emptied to 0 bytes, or gone, where there was state', async () => {
    const cfg = await withState();
    truncateSync(cfg.dbPath, 0);
    expect((await expectRefusal(cfg, 'storage.missing', 78)).msg).toMatch(/empty \(0 bytes\)/);
    rmSync(cfg.dbPath);
    expect((await expectRefusal(cfg, 'storage.missing', 78)).msg).toMatch(/is missing/);
    expect(existsSync(cfg.dbPath)).toBe(false);
  });

  it('opens a database whose write-ahead log holds committed work (as after kill -9), with that work', async () => {
    const cfg = await withState();
    const writer = openDatabase(cfg.dbPath);
    writer.prepare(`INSERT INTO kv (key, value) VALUES ('probe', 'in the log only')`).run();
    // A copy of the files while the writer is open is what a killed gateway leaves behind.
    copyFileSync(cfg.dbPath, `${cfg.dbPath}.copy`);
    copyFileSync(`${cfg.dbPath}-wal`, `${cfg.dbPath}.copy-wal`);
    writer.close();
    expect(statSync(`${cfg.dbPath}.copy-wal`).size).toBeGreaterThan(0);
    const db = openDatabase(`${cfg.dbPath}.copy`);
    expect(db.prepare(`SELECT value FROM kv WHERE key = 'probe'`).pluck().get()).toBe('in the log only');
    db.close();
  });

  it('refuses a write-ahead log that is garbage', async () => {
    const cfg = await withState();
    writeFileSync(`${cfg.dbPath}-wal`, Buffer.alloc(8192, 0x3c));
    const before = sha(`${cfg.dbPath}-wal`);
    await expectRefusal(cfg, 'storage.corrupt', 78);
    expect(sha(`${cfg.dbPath}-wal`)).toBe(before);
  });

  it('the documented recovery: files aside, start fresh, rebase from the MES values', async () => {
    const cfg = await withState();
    damageTable(cfg.dbPath, 'counter_state');
    await expectRefusal(cfg, 'storage.corrupt', 78);
    for (const f of [cfg.dbPath, `${cfg.dbPath}-wal`, `${cfg.dbPath}-shm`, `${cfg.dbPath}.id`]) if (existsSync(f)) renameSync(f, `${f}.damaged`);
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill('SIGKILL'));
    // Fully up: a fresh database where the damaged one was.
    await gw.waitForLog((l) => l.event === 'web.listening');
    expect(gw.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    await gw.kill('SIGTERM');
    // The PLC is read once (here by hand: no PLC in this test), then rebase puts the MES's value in.
    const db = openDatabase(cfg.dbPath);
    const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), new Outbox(db)));
    processor.setMachines(deviceSchema.parse(parse(deviceYaml(1))).machines.map((config) => ({ device: 'plc', config })));
    processor.apply([{ machine: 'M1', signal: 'count', value: 150, at: 1 }], 1);
    db.close();
    const out = captureOutput();
    expect(await cli(['rebase', 'M1', '150', '--config', cfg.gatewayFile])).toBe(0);
    expect(out.stdout()).toContain('M1 count: total 150 → 150 (MES had 150; 0 still to send)');
  });

  it('a second gateway on the same database is refused before writing, naming the first; the CLI still works', async () => {
    const cfg = await withState();
    const first = startGateway(cfg.gatewayFile);
    defer(() => first.kill('SIGKILL'));
    await first.waitForLog((l) => l.event === 'gateway.started');
    const line = await expectRefusal(cfg, 'storage.locked', 75);
    expect(line.msg).toContain(`pid ${first.child.pid}`);
    const out = captureOutput();
    expect(await cli(['outbox', 'list', '--config', cfg.gatewayFile])).toBe(0);
    expect(out.stdout()).toContain('M1');
    // The lock goes with the process, even killed -9: the next gateway starts.
    await first.kill('SIGKILL');
    const next = startGateway(cfg.gatewayFile);
    defer(() => next.kill('SIGKILL'));
    await next.waitForLog((l) => l.event === 'gateway.started');
  });

  it('a page going bad while running is found by the periodic check and shown, not ignored', async () => {
    const cfg = await withState();
    const clock = new ManualClock();
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const db = openDatabase(cfg.dbPath);
    const gateway = await Gateway.start({ config: loadConfig(cfg.gatewayFile), logger, clock, db });
    defer(() => gateway.stop());
    const { rootpage } = db.prepare<[], { rootpage: number }>(`SELECT rootpage FROM sqlite_master WHERE name = 'param_state'`).get()!;
    const fd = openSync(cfg.dbPath, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (rootpage - 1) * 4096);
    closeSync(fd);
    // A table nothing here reads or writes, so only the check can find it. SQLite's cached
    // pages are dropped, as time and other work would: the check must read the disk.
    db.pragma('shrink_memory');
    clock.advance(5 * 3600_000);
    expect(gateway.view.status().storage.state).toBe('ok');
    clock.advance(3600_000);
    expect(gateway.view.status().storage).toMatchObject({ state: 'corrupt', path: cfg.dbPath });
    expect(logs.filter((l) => l.event === 'storage.corrupt')).toHaveLength(1);
    const problems = healthProblems(gateway.view.status());
    expect(problems[0]).toMatch(new RegExp(`^storage corrupt: ${cfg.dbPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  it('a damaged page the status reads makes /healthz say "storage corrupt", not fail', async () => {
    const cfg = await withState();
    const db = openDatabase(cfg.dbPath);
    const gateway = await Gateway.start({ config: loadConfig(cfg.gatewayFile), logger: pino({ level: 'silent' }), clock: new ManualClock(), db });
    defer(() => gateway.stop());
    const { rootpage } = db.prepare<[], { rootpage: number }>(`SELECT rootpage FROM sqlite_master WHERE name = 'dead_letters'`).get()!;
    const fd = openSync(cfg.dbPath, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (rootpage - 1) * 4096);
    closeSync(fd);
    db.pragma('shrink_memory');
    const status = gateway.view.status();
    expect(status.storage).toMatchObject({ state: 'corrupt', path: cfg.dbPath });
    expect(status.machines[0].totals.count.total).toBe(150);
    expect(healthProblems(status)[0]).toMatch(/^storage corrupt: /);
  });
});
