/**
 * Operating the running gateway: hot reload of device files and gateway.yaml, the outbox
 * CLI against the live database, and secrets kept out of logs, pages and metrics.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { startPymodbus, type Pymodbus } from '../helpers/modbus-pymodbus.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { modbusDevice as device, writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';
import { openDatabase } from '../../src/outbox/db.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));
const run = promisify(execFile);

describe('operating the running gateway', () => {
  const dir = tempDir();
  let mes: MesSandbox | undefined;
  let plc: Pymodbus | undefined;
  let gw: GatewayProcess | undefined;
  const defer = deferCleanup();

  async function boot(machines: string[], env: Record<string, string> = {}, secret = 'test-secret') {
    const sandbox = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: secret },
      machines: Object.fromEntries(machines.map((m) => [m, {}])),
    });
    defer(() => sandbox.close());
    const pymodbus = await startPymodbus();
    defer(() => pymodbus.kill());
    const cfg = writeConfig(dir, { mesUrl: sandbox.url, devices: { a: device('dev-a', pymodbus.port, 'M1', 0) } });
    const gateway = startGateway(cfg.gatewayFile, env);
    defer(() => gateway.kill());
    [mes, plc, gw] = [sandbox, pymodbus, gateway];
    const listening = await gateway.waitForLog((l) => l.event === 'web.listening');
    const base = String(listening.url).replace(/\/$/, '');
    const status = async () => (await (await fetch(`${base}/api/status`)).json()) as GatewayStatus;
    return { cfg, base, status };
  }

  it('applies a valid device change without restarting the others, and keeps the running config on an invalid one', async () => {
    const { cfg, status } = await boot(['M1', 'M2']);
    await gw!.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'M1');
    await gw!.waitForLog((l) => l.event === 'config.watching');

    // A new device file: picked up while running.
    writeFileSync(join(cfg.dir, 'devices', 'b.yaml'), device('dev-b', plc!.port, 'M2', 5));
    await eventually(
      status,
      (s) => s.machines.some((m) => m.code === 'M2') && s.devices.some((d) => d.id === 'dev-b' && d.state === 'connected'),
      20_000,
      'M2 running',
    );
    expect(gw!.logs.some((l) => l.device === 'dev-a' && l.event === 'device.restarted')).toBe(false);
    await plc!.set('holding', 0, 4);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 4,
      20_000,
      'M1 still delivering',
    );

    // A typo: rejected, shown with file, line and key; the old config keeps running.
    writeFileSync(join(cfg.dir, 'devices', 'b.yaml'), device('dev-b', plc!.port, 'M2', 5).replace('address:', 'adress:'));
    const bad = await eventually(status, (s) => s.config.errors.length > 0, 20_000, 'config error shown');
    expect(bad.config.errors.join('\n')).toMatch(/b\.yaml:7:\d+.*adress/);
    expect(bad.machines.map((m) => m.code).sort()).toEqual(['M1', 'M2']);
    await plc!.set('holding', 5, 3);
    await plc!.set('holding', 5, 9);
    await eventually(
      () => mes!.state.M2.count,
      (c) => c === 9,
      20_000,
      'M2 still delivering on the old config',
    );

    // Fixed again: the error goes away.
    writeFileSync(join(cfg.dir, 'devices', 'b.yaml'), device('dev-b', plc!.port, 'M2', 5));
    await eventually(status, (s) => s.config.errors.length === 0, 20_000, 'error cleared');

    // gateway.yaml itself: a valid edit is applied, an invalid one refused.
    const gatewayYaml = readFileSync(cfg.gatewayFile, 'utf8');
    writeFileSync(cfg.gatewayFile, gatewayYaml.replace('requestsPerMinute: 100', 'requestsPerMinute: 60'));
    await eventually(status, (s) => s.budget.perMinute === 60, 20_000, 'new rate budget');
    await plc!.set('holding', 0, 11);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 11,
      20_000,
      'delivering after the uplink restarted',
    );
    writeFileSync(cfg.gatewayFile, gatewayYaml.replace('requestsPerMinute: 100', 'requestsPerMinute: lots'));
    const badGateway = await eventually(status, (s) => s.config.errors.length > 0, 20_000, 'gateway.yaml error shown');
    expect(badGateway.config.errors.join('\n')).toMatch(/gateway\.yaml:\d+:\d+.*requestsPerMinute/);
    expect(badGateway.budget.perMinute).toBe(60);
  });

  it('the outbox CLI lists, retries and drops dead letters while the gateway runs', async () => {
    const { cfg, status } = await boot([]); // the MES knows no machine: every counter is refused
    await gw!.waitForLog((l) => l.event === 'counter.first_seen');
    await plc!.set('holding', 0, 5);
    const dead = await eventually(status, (s) => s.deadLetters.length === 1, 20_000, 'dead letter');
    const id = dead.deadLetters[0].id;

    const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--config', cfg.gatewayFile], { env: { ...process.env, CI: 'true' } });
    const listed = await cli('outbox', 'dead');
    expect(listed.stdout).toMatch(new RegExp(`${id}.*M1.*counter.*400.*machine M1 not found`));

    // Retry: the running gateway picks the item up from the shared database and sends it again.
    await cli('outbox', 'retry', String(id));
    const again = await eventually(status, (s) => s.deadLetters.length === 1 && s.deadLetters[0].id !== id, 20_000, 'a new attempt');
    expect(mes!.requests.filter((r) => r.path === '/api/machines/M1/counter').length).toBe(2);

    await cli('outbox', 'drop', String(again.deadLetters[0].id));
    await eventually(status, (s) => s.deadLetters.length === 0, 20_000, 'dropped');
    expect((await cli('outbox', 'dead')).stdout).toMatch(/no dead letters/);
  });

  it('when the MES is ahead, says so with the rebase command, and rebase while running fixes it', async () => {
    const { cfg, status } = await boot(['M1']);
    mes!.state.M1.count = 10_000; // e.g. the gateway's disk was replaced; the MES kept counting
    await gw!.waitForLog((l) => l.event === 'counter.first_seen');
    await plc!.set('holding', 0, 5);
    const dead = await eventually(status, (s) => s.deadLetters.length === 1, 20_000, 'dead letter');
    expect(dead.deadLetters[0].reason).toMatch(/MES is ahead.*shopfloor-gateway rebase M1/);
    // The log line may reach the test's pipe after the status shows the dead letter.
    const ahead = await gw!.waitForLog((l) => l.event === 'mes.ahead' && l.machine === 'M1');
    expect(String(ahead.msg)).toMatch(/rebase M1/);

    const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--config', cfg.gatewayFile], { env: { ...process.env, CI: 'true' } });
    const r = await cli('rebase', 'M1', '10000');
    expect(r.stdout).toMatch(/M1 count: total 5 → 10005/);
    // What was counted since is delivered on top of the MES's value.
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 10_005,
      20_000,
      'count above the MES value',
    );
    await plc!.set('holding', 0, 8);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 10_008,
      20_000,
      'later production',
    );
  });

  it('rebase --set brings a machine stuck on a wrong total back to what the MES shows, while running', async () => {
    const { cfg } = await boot(['M1']);
    await gw!.waitForLog((l) => l.event === 'counter.first_seen');
    await plc!.set('holding', 0, 5);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 5,
      20_000,
      'first count',
    );
    // A total no MES value can follow (as a 1e20 taken before values were checked left it):
    // later totals are never pending, and a plain rebase only raises.
    const db = openDatabase(cfg.dbPath, { mustExist: true });
    db.prepare(`UPDATE counter_state SET total = 1e20, delivered = 1e20, attempted = 1e20 WHERE machine = 'M1'`).run();
    db.close();

    const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--config', cfg.gatewayFile], { env: { ...process.env, CI: 'true' } });
    const r = await cli('rebase', 'M1', '5', '--set');
    expect(r.stdout).toMatch(/M1 count: total 100000000000000000000 → 5 \(MES had 5; 0 still to send\)/);
    // Counting goes on from the PLC's current value: 3 more parts, 8 at the MES.
    await plc!.set('holding', 0, 8);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 8,
      20_000,
      'counting again after --set',
    );
    expect(mes!.state.M1.counterLog.map((c) => c.count)).toEqual([5, 8]);
  });

  it('never shows the API secret or the Authorization header in logs, status or metrics', async () => {
    const secret = 'Sup3r-S3cret-Value-42';
    const basic = Buffer.from(`test-key:${secret}`).toString('base64');
    const { base } = await boot(['M1'], { TEST_API_SECRET: secret }, secret);
    await gw!.waitForLog((l) => l.event === 'counter.first_seen');
    await plc!.set('holding', 0, 3);
    await eventually(
      () => mes!.state.M1.count,
      (c) => c === 3,
      20_000,
      'delivered',
    );
    const outputs = [
      JSON.stringify(gw!.logs),
      await (await fetch(`${base}/api/status`)).text(),
      await (await fetch(`${base}/metrics`)).text(),
      await (await fetch(`${base}/`)).text(),
    ];
    for (const text of outputs) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(basic);
    }
  });
});
