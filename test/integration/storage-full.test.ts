/**
 * A full disk: the database on a real 4 MB tmpfs, filled with a junk file. Under the real
 * gateway pipeline (in process, Modbus PLC simulator, MES sandbox) readings go on, "storage
 * full" is said once and shown in /healthz, and once the junk is removed writing resumes by
 * itself and the MES ends with exactly what was produced, run/stop included. The uploader
 * alone, with work queued when the disk fills, must not send what it cannot settle nor
 * blame the MES.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { parse } from 'yaml';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { freePort } from '../../src/sim/free-port.js';
import { openDatabase } from '../../src/outbox/db.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { RequestLog } from '../../src/outbox/request-log.js';
import { MachineProcessor } from '../../src/machine/processor.js';
import { SqliteMachineStore } from '../../src/outbox/machine-store.js';
import { MesClient } from '../../src/uplink/mes-client.js';
import { RateBudget } from '../../src/uplink/rate-budget.js';
import { recordedAcquire } from '../../src/uplink/recorded-acquire.js';
import { Uploader } from '../../src/uplink/uploader.js';
import { WarpClock } from '../helpers/clocks.js';
import { eventually } from '../helpers/wait.js';
import { writeConfig } from '../helpers/config-files.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { healthOf } from '../helpers/web-server.js';

/** Mounts a small tmpfs (as root; a failing mount fails the suite). */
function mountTmpfs(size: string): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sfg-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    },
  };
}

/** Writes junk until the file system says ENOSPC. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 16, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      // Bounded: 4 MB / 1 byte is the most writes there can be.
      for (let i = 0; i < 5_000_000; i++) writeSync(fd, chunk);
    }
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

// Only a user without the right to mount skips, with the reason; root must run these.
const refused = process.getuid?.() === 0 ? undefined : `mounting a tmpfs needs root (this runs as uid ${process.getuid?.()})`;
if (refused) console.warn(`disk-full tests skipped: ${refused}`);

describe.skipIf(refused !== undefined)('disk full', () => {
  const defer = deferCleanup();
  let mount: ReturnType<typeof mountTmpfs> | undefined;
  beforeAll(() => {
    mount = mountTmpfs('4m');
  });
  afterAll(() => mount?.unmount());
  const junk = () => join(mount!.dir, 'junk');

  /** A fresh folder on the tmpfs for one test; the junk is always removed after it. */
  function testDir(): string {
    const dir = mkdtempSync(join(mount!.dir, 't-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    defer(() => rmSync(junk(), { force: true }));
    return dir;
  }

  it('says "storage full" once, keeps every count and run/stop, and resumes by itself', async () => {
    const dir = testDir();
    const port = await freePort();
    const yaml = `device: plc
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port} }
pollIntervalMs: 50
machines:
  - code: M1
    count: { area: holding, address: 0 }
    running: { area: coil, address: 0 }
    downtimeType: Maintenance
`;
    const sim = await startModbusPlcSim({ port, device: deviceSchema.parse(parse(yaml)) as DeviceOf<'modbus-tcp'>, tickMs: 0 });
    defer(() => sim.close());
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { M1: { downtimeTypes: ['Maintenance'] } } });
    defer(() => mes.close());
    let count = 100;
    sim.set('M1', 'count', count);
    sim.set('M1', 'running', true);
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { plc: yaml } });
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const gateway = await Gateway.start({ config: loadConfig(cfg.gatewayFile), logger });
    defer(() => gateway.stop());
    const health = healthOf(gateway.url);

    await eventually(
      () => gateway.view.status().machines[0]?.totals.count?.total,
      (t) => t === 100,
      20_000,
      'first read',
    );
    count += 4;
    sim.set('M1', 'count', count);
    await eventually(
      () => mes.state.M1.count,
      (c) => c === count,
      20_000,
      'delivered before the disk fills',
    );

    fillDisk(junk());
    count += 5;
    sim.set('M1', 'count', count);
    sim.set('M1', 'running', false);
    const full = await eventually(
      () => gateway.view.status().storage,
      (s) => s.state === 'full' && (s.failures ?? 0) >= 5,
      20_000,
      'storage full, several polls',
    );
    count += 3;
    sim.set('M1', 'count', count);
    expect(full.path).toBe(cfg.dbPath);
    // Readings go on: the page shows the PLC's newest value while nothing can be stored.
    await eventually(
      () => gateway.view.status().machines[0].values.count?.value,
      (v) => v === count,
      20_000,
      'readings shown while full',
    );
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body).toContain(`storage full: ${cfg.dbPath}`);
    expect(h.body).not.toMatch(/MES/);
    expect(gateway.view.status().mes.reachable).not.toBe(false);
    expect(logs.filter((l) => l.event === 'storage.full')).toHaveLength(1);
    expect(logs.filter((l) => l.level === 50 && l.event !== 'storage.full')).toEqual([]);
    // A stop that could not be stored has not happened yet as far as the log goes: said once, when stored.
    expect(logs.filter((l) => l.event === 'machine.stopped')).toEqual([]);

    rmSync(junk());
    await eventually(
      () => mes.state.M1.count,
      (c) => c === count,
      20_000,
      'every count delivered after space returned',
    );
    await eventually(
      () => mes.state.M1.startstop.at(-1)?.running,
      (r) => r === 0,
      20_000,
      'the stop delivered after space returned',
    );
    await eventually(health, (x) => x.status === 200, 20_000, 'healthy again');
    expect(gateway.view.status().storage.state).toBe('ok');
    expect(logs.some((l) => l.event === 'storage.recovered')).toBe(true);
    expect(logs.filter((l) => l.event === 'machine.stopped')).toHaveLength(1);
    expect(mes.state.M1.startstop).toHaveLength(1);
    const sent = mes.state.M1.counterLog.map((c) => c.count);
    expect(sent).toEqual([...sent].sort((a, b) => a! - b!));
    expect(new Set(sent).size).toBe(sent.length);
  });

  it('the uploader with work queued sends nothing it could not settle, blames no MES, and delivers once space returns', async () => {
    const dir = testDir();
    const clock = new WarpClock();
    const mes = await startMesSandbox({ credentials: { apiKey: 'k', apiSecret: 's' }, machines: { M1: { downtimeTypes: ['Maintenance'] } }, clock });
    defer(() => mes.close());
    const db = openDatabase(join(dir, 'gateway.db'));
    defer(() => db.close());
    const requests = new RequestLog(db);
    const outbox = new Outbox(db, { alsoCommit: () => requests.writeAnswers() });
    const processor = new MachineProcessor(new SqliteMachineStore(db, new MachineStateStore(db), outbox));
    const device = deviceSchema.parse(
      parse(`device: plc
protocol: modbus-tcp
connection: { host: 127.0.0.1 }
machines:
  - { code: M1, count: { area: holding, address: 0 }, running: { area: coil, address: 0 }, downtimeType: Maintenance }
`),
    );
    processor.setMachines(device.machines.map((config) => ({ device: 'plc', config })));
    const read = (values: Record<string, number | boolean>) =>
      processor.apply(
        Object.entries(values).map(([signal, value]) => ({ machine: 'M1', signal, value, at: clock.now() })),
        clock.now(),
      );
    read({ count: 10, running: true });
    read({ count: 17, running: false });
    const budget = new RateBudget({ perMinute: 100, clock });
    const faults: string[] = [];
    const onStorageFault = (err: unknown) => faults.push((err as Error & { code: string }).code);
    const acquire = recordedAcquire({ budget, requests, clock, onStorageFault });
    const client = new MesClient({ baseUrl: mes.url, auth: { apiKey: 'k', apiSecret: 's', tokenAuth: false }, timeoutMs: 5000, clock, acquire });
    defer(() => client.close());
    const logs: Record<string, unknown>[] = [];
    const uploader = new Uploader({
      outbox,
      client,
      budget,
      clock,
      random: () => 0.5,
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
      onStorageFault,
    });
    fillDisk(junk());
    uploader.start();
    defer(() => uploader.stop());
    await eventually(
      () => faults.length,
      (n) => n >= 3,
      20_000,
      'storage faults reported by the uploader',
    );
    expect(faults.every((c) => c === 'SQLITE_FULL' || c.startsWith('SQLITE_IOERR'))).toBe(true);
    // The counter could not be marked as attempted, so it was not sent; the stop went out once
    // or not at all (its settlement is what failed).
    expect(mes.requests.filter((r) => r.path.includes('/counter'))).toEqual([]);
    expect(uploader.health.reachable).not.toBe(false);
    expect(logs.filter((l) => l.event === 'mes.unreachable' || l.event === 'mes.delivery_failed')).toEqual([]);

    rmSync(junk());
    await eventually(
      () => mes.state.M1.count,
      (c) => c === 17,
      20_000,
      'counter delivered after space returned',
    );
    await eventually(
      () => outbox.summary().pending,
      (n) => n === 0,
      20_000,
      'nothing left pending',
    );
    expect(mes.state.M1.startstop.map((t) => t.running)).toEqual([0]);
  });
});
