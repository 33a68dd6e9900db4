/**
 * `shopfloor-gateway commission` against a running gateway process: the URL it prints
 * opens one session, the checks hold on the real server, and a device saved through the
 * routes is picked up by hot reload and delivers to the MES sandbox.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { commissionDir, writeGrant } from '../../src/web/commission/grant.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { modbusDevice as device, writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));
const run = promisify(execFile);

describe('commission verb against the running gateway', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('refuses a window length out of range and opens nothing', async () => {
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { a: device('dev-a', 1502, 'M1', 0) } });
    for (const minutes of ['0', '481', '1.5', 'soon']) {
      const failed = await run(process.execPath, [bin, 'commission', '--minutes', minutes, '--config', cfg.gatewayFile]).catch(
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed, minutes).toMatchObject({ code: 2, stderr: expect.stringContaining('--minutes must be a whole number from 1 to 480') });
    }
    expect(existsSync(join(commissionDir(cfg.dbPath), 'grant.json'))).toBe(false);
  });

  it('run with sudo for a gateway that runs as its own user, gives the grant to that user, so the service can read it and mark it used', async () => {
    expect(process.getuid?.(), 'this test runs as root, as CI does').toBe(0);
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { a: device('dev-a', 1502, 'M1', 0) } });
    const storage = dirname(cfg.dbPath);
    mkdirSync(storage, { recursive: true });
    const nobody = 65534;
    chownSync(storage, nobody, nobody);
    await run(process.execPath, [bin, 'commission', '--minutes', '5', '--config', cfg.gatewayFile]);
    for (const path of [commissionDir(cfg.dbPath), join(commissionDir(cfg.dbPath), 'grant.json')]) {
      expect([statSync(path).uid, statSync(path).gid], path).toEqual([nobody, nobody]);
    }
    expect(statSync(join(commissionDir(cfg.dbPath), 'grant.json')).mode & 0o777).toBe(0o600);
  });

  it('web.commissioning opens a window at start and when switched on; the verb prints a URL whose token works once; a saved device delivers; --close and expiry end it', async () => {
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { M1: {}, M2: {} } });
    defer(() => mes.close());
    const plc = await startPymodbus();
    defer(() => plc.kill());
    const [port] = await freePorts(1);
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { a: device('dev-a', plc.port, 'M1', 0) } });
    const withWindow = `listen: 127.0.0.1:${port}\n  commissioning: { enabled: true, minutes: 5 }`;
    writeFileSync(cfg.gatewayFile, readFileSync(cfg.gatewayFile, 'utf8').replace('listen: 127.0.0.1:0', withWindow));
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    await gw.waitForLog((l) => l.event === 'config.watching');

    const base = `http://127.0.0.1:${port}`;
    const api = (path: string) => `${base}/api/commission/${path}`;
    const off = async () => ((await (await fetch(api('devices'))).json()) as { error: { code: string } }).error.code;

    // web.commissioning opened a window at start; its URL is in a file only the gateway user reads, not in the log.
    const opened = await gw.waitForLog((l) => l.event === 'commission.opened');
    const urlFile = String(opened.urlFile);
    expect(statSync(urlFile).mode & 0o777).toBe(0o600);
    const atStart = /#commission=([\w-]+)/.exec(readFileSync(urlFile, 'utf8'))![1];
    expect(JSON.stringify(gw.logs)).not.toContain(atStart);
    const startSession = await fetch(api('session'), { method: 'POST', body: JSON.stringify({ token: atStart }) });
    expect(startSession.status).toBe(200);
    await run(process.execPath, [bin, 'commission', '--close', '--config', cfg.gatewayFile]);
    expect(await off()).toBe('SFG_COMMISSION_OFF');

    const { stdout } = await run(process.execPath, [bin, 'commission', '--minutes', '5', '--config', cfg.gatewayFile]);
    const printed = /(http:\/\/\S+)#commission=([\w-]+)/.exec(stdout);
    expect(printed?.[1]).toBe(`${base}/`);
    const token = printed![2];

    const exchange = () => fetch(api('session'), { method: 'POST', headers: { origin: base }, body: JSON.stringify({ token }) });
    const first = await exchange();
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie')!.split(';')[0];
    const { csrf } = (await first.json()) as { csrf: string };
    expect((await exchange()).status).toBe(403);

    const post = (path: string, body: unknown, headers: Record<string, string>) =>
      fetch(api(path), { method: 'POST', headers: { cookie, ...headers }, body: JSON.stringify(body) });
    const newDevice = { file: 'b.yaml', yaml: device('dev-b', plc.port, 'M2', 5), baseHash: null };
    const withoutCsrf = await post('save', newDevice, { origin: base });
    expect([withoutCsrf.status, ((await withoutCsrf.json()) as { error: { code: string } }).error.code]).toEqual([403, 'SFG_COMMISSION_CSRF']);
    const foreign = await post('save', newDevice, { origin: 'http://evil.example', 'x-csrf-token': csrf });
    expect([foreign.status, ((await foreign.json()) as { error: { code: string } }).error.code]).toEqual([403, 'SFG_COMMISSION_ORIGIN']);

    const saved = await post('save', newDevice, { origin: base, 'x-csrf-token': csrf });
    expect(saved.status).toBe(200);
    await gw.waitForLog((l) => l.event === 'commission.saved' && l.file === 'b.yaml');
    // Hot reload starts the device; its first read is the baseline, what it counts after is delivered.
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'M2');
    await plc.set('holding', 5, 7);
    await eventually(
      () => mes.state.M2?.count,
      (c) => c === 7,
      20_000,
      'the saved device delivering to the MES',
    );

    await run(process.execPath, [bin, 'commission', '--close', '--config', cfg.gatewayFile]);
    expect(await (await fetch(api('session'), { headers: { cookie } })).json()).toEqual({ active: false });
    expect(await off()).toBe('SFG_COMMISSION_OFF');

    // A window that ran out (written an hour ago for 30 minutes): its token opens nothing.
    const expired = writeGrant(commissionDir(cfg.dbPath), Date.now() - 3600_000, 30);
    const late = await fetch(api('session'), { method: 'POST', headers: { origin: base }, body: JSON.stringify({ token: expired.token }) });
    expect([late.status, ((await late.json()) as { error: { code: string } }).error.code]).toEqual([403, 'SFG_COMMISSION_OFF']);

    // Switched off and on again in gateway.yaml while running: a new window, with a new URL.
    const yaml = readFileSync(cfg.gatewayFile, 'utf8');
    writeFileSync(cfg.gatewayFile, yaml.replace('enabled: true', 'enabled: false'));
    await eventually(
      () => gw.logs.filter((l) => l.event === 'web.restart').length,
      (n) => n === 1,
      20_000,
      'web settings reloaded',
    );
    writeFileSync(cfg.gatewayFile, yaml);
    await eventually(
      () => gw.logs.filter((l) => l.event === 'commission.opened').length,
      (n) => n === 2,
      20_000,
      'a second window',
    );
    const again = /#commission=([\w-]+)/.exec(readFileSync(urlFile, 'utf8'))![1];
    expect(again).not.toBe(atStart);
    expect((await fetch(api('session'), { method: 'POST', body: JSON.stringify({ token: again }) })).status).toBe(200);
  });
});
