/**
 * The CLI as a technician meets it on the plant PC: a database that is not where the
 * configuration points, not readable, or blocked by a file; `outbox list` agreeing with the
 * status page; the simulators started twice. One clear line each, never a stack trace.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/outbox/db.js';
import { explainOpenFailure } from '../../src/cli/open-store.js';
import { MachineStateStore } from '../../src/outbox/machine-state.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

type Result = { code: number; stdout: string; stderr: string };
function cli(args: string[], opts: { cwd?: string; uid?: number; gid?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { ...opts, env: { ...process.env, CI: 'true' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

const device = `device: d
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: 1 }
machines:
  - code: M1
    count: { area: holding, address: 0 }
`;

describe('the CLI and the database', () => {
  const dir = tempDir();
  /** A configuration whose storage.path is `storage`, as written in gateway.yaml. */
  const config = (storage: string) => {
    const { gatewayFile } = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { d: device } });
    writeFileSync(gatewayFile, readFileSync(gatewayFile, 'utf8').replace(/path: .*gateway\.db/, `path: ${storage}`));
    return gatewayFile;
  };

  it('outbox and rebase say where they looked when there is no database, and create none', async () => {
    const gatewayFile = config('./data/gateway.db');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    for (const args of [['outbox'], ['rebase', 'M1', '10']]) {
      const r = await cli([...args, '--config', gatewayFile], { cwd: elsewhere });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `no database at ${join(elsewhere, 'data/gateway.db')} (storage.path "./data/gateway.db" is taken relative to the working directory ${elsewhere}); ` +
          "run this from the gateway's working directory or make storage.path absolute (the gateway creates the file when it first runs)\n",
      );
    }
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);
  });

  it('a file where the storage folder should be stops run and outbox with one line', async () => {
    const gatewayFile = config(join(dir, 'blocker', 'gateway.db'));
    writeFileSync(join(dir, 'blocker'), 'not a folder');
    for (const verb of ['run', 'outbox']) {
      const r = await cli([verb, '--config', gatewayFile]);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(
        `storage.path ${join(dir, 'blocker', 'gateway.db')} cannot work: ${join(dir, 'blocker')} is a file, not a folder; fix storage.path in gateway.yaml`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('explains a database it may not open, with what to do', () => {
    const dbPath = join(dir, 'gateway.db');
    writeFileSync(dbPath, '');
    const denied = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });
    expect(explainOpenFailure(denied, dbPath, dbPath, { mustExist: true })).toBe(
      `cannot open the database ${dbPath}: unable to open database file; ` +
        "the user running this must be able to read and write it and its folder (run as the gateway's user, or with sudo)",
    );
  });

  // As root, reading is always allowed: the real check runs as nobody, which needs a
  // checkout nobody may read (the message itself is checked just above either way).
  const asRoot = process.getuid?.() === 0;
  const nobodyCanRun = !asRoot || spawnSync(process.execPath, [bin, '--help'], { uid: 65534, gid: 65534 }).status === 0;
  it.runIf(nobodyCanRun)('a database this user may not read is named, with what to do', async () => {
    const dbPath = join(dir, 'data', 'gateway.db');
    const gatewayFile = config(dbPath);
    openDatabase(dbPath).close();
    chmodSync(dbPath, 0o000);
    if (asRoot) for (const d of [dir, join(dir, 'data')]) chmodSync(d, 0o755);
    const r = await cli(['outbox', '--config', gatewayFile], asRoot ? { uid: 65534, gid: 65534 } : {});
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `cannot open the database ${dbPath}: unable to open database file; ` +
        "the user running this must be able to read and write it and its folder (run as the gateway's user, or with sudo)\n",
    );
  });

  it('outbox and rebase still read the database when a device file is broken, and say what is wrong with it', async () => {
    const { gatewayFile, dbPath } = writeConfig(dir, {
      mesUrl: 'http://127.0.0.1:9',
      devices: { d: device, broken: device.replace('device: d', 'device: e').replace('address: 0', 'adress: 0') },
    });
    const db = openDatabase(dbPath);
    const t = Date.UTC(2025, 2, 3, 6, 30);
    new MachineStateStore(db).insertCounter('M1', 'count', { lastRaw: 10, total: 10 }, 'src', t);
    new Outbox(db).enqueueParameter('M1', 'temperature', 23.5, t);
    db.close();

    const list = await cli(['outbox', 'list', '--config', gatewayFile]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('M1       parameter  temperature = 23.5');
    expect(list.stderr).toMatch(
      /^warning: the device files have errors \(the gateway would not start\); the database is read anyway:\n.*broken\.yaml:6:\d+ +machines\[0\]\.count\.adress +unknown key "adress"/,
    );
    const rebase = await cli(['rebase', 'M1', '50', '--config', gatewayFile]);
    expect(rebase.code).toBe(0);
    expect(rebase.stderr).toContain('broken.yaml');

    // A broken gateway.yaml itself still stops them: without it there is no storage.path.
    writeFileSync(gatewayFile, readFileSync(gatewayFile, 'utf8').replace('storage:', 'storag:'));
    const refused = await cli(['outbox', 'list', '--config', gatewayFile]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('storag');
  });

  it('outbox list shows what is really pending, as the status page counts it', async () => {
    const { gatewayFile, dbPath } = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { d: device } });
    const db = openDatabase(dbPath);
    const state = new MachineStateStore(db);
    const outbox = new Outbox(db);
    const t = Date.UTC(2025, 2, 3, 6, 30);
    state.insertCounter('M1', 'count', { lastRaw: 10, total: 10 }, 'src', t);
    state.updateGuard('M1', 'count', { lastRaw: 15, total: 15, seenAt: t, changedAt: t }, t);
    // Refused by the MES: a dead letter, not pending until the total passes it.
    state.insertCounter('M1', 'waste:W9', { lastRaw: 0, total: 0 }, 'src', t);
    state.updateGuard('M1', 'waste:W9', { lastRaw: 3, total: 3, seenAt: t, changedAt: t }, t);
    outbox.counterDead('M1', [{ signal: 'waste:W9', total: 3 }], new Map(), { waste: 3 }, 400, 'unknown waste W9', t);
    state.insertCounter('M2', 'count', { lastRaw: 5, total: 5 }, 'src', t); // delivered: nothing to show
    outbox.enqueueParameter('M1', 'temperature', 23.5, t);
    outbox.enqueueStartStop('M1', { running: 0, type: 'Maintenance', at: t }, t);
    outbox.enqueueStartStop('M1', { running: 1, type: 'Maintenance', at: t + 60_000 }, t);
    expect(outbox.summary().pending).toBe(4);
    db.close();

    const r = await cli(['outbox', 'list', '--config', gatewayFile]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'MACHINE  KIND       ITEM                                          NOTE',
        'M1       counter    count = 15                                    delivered 10',
        'M1       parameter  temperature = 23.5',
        'M1       startstop  stop Maintenance at 2025-03-03T06:30:00.000Z',
        'M1       startstop  run at 2025-03-03T06:31:00.000Z',
        '',
        '1 dead letter(s): shopfloor-gateway outbox dead',
        '',
      ].join('\n'),
    );
  });
});

describe('simulators on a port that is taken', () => {
  const dir = tempDir();
  let blocker: Server | undefined;
  afterEach(() => new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done())));

  it('simulate and the demo run say which address is in use and why it may be', async () => {
    blocker = createServer();
    await new Promise<void>((done) => blocker!.listen(0, '127.0.0.1', done));
    const listen = `127.0.0.1:${(blocker.address() as { port: number }).port}`;
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { d: device }, extra: `simulate:\n  mes: { listen: ${listen} }\n  plcs: false\n` });
    const expected = `${listen} is already in use: is the demo (or another gateway) already running? Stop it, or give the simulators other ports in the configuration.\n`;
    const sim = await cli(['simulate', '--config', cfg.gatewayFile, '--no-plcs']);
    expect(sim).toMatchObject({ code: 1, stderr: expected });
    const run = await cli(['run', '--config', cfg.gatewayFile]);
    expect(run).toMatchObject({ code: 1, stderr: expected });
  });
});
