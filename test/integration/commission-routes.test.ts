/**
 * /api/commission/* over real HTTP on the status server, with real files and a fake clock:
 * the window, the one-time token, the origin and CSRF checks, masking, save and rollback.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDeviceFile, type LoadedDevice } from '../../src/config/load.js';
import type { CommissionTools } from '../../src/core/commission.js';
import { GatewayError } from '../../src/core/errors.js';
import { previewMesBodies } from '../../src/gateway/commission-preview.js';
import { hashOf } from '../../src/web/commission/device-files.js';
import { writeGrant } from '../../src/web/commission/grant.js';
import type { WebServer } from '../../src/web/server.js';
import { ManualClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';
import { startFixtureServer } from '../helpers/web-server.js';

const broker = `device: broker-1
protocol: mqtt
connection:
  url: mqtt://127.0.0.1:1883
  username: line
  password: s3cret-Pa55
machines:
  - code: M1
    count: { topic: line/count }
`;

const WEB_TOKEN = 'web-token-0123456789';

describe('commissioning routes', () => {
  const root = tempDir();
  let clock: ManualClock;
  let web: WebServer;
  let lines: (event?: string) => Record<string, unknown>[];
  let devicesDir: string;
  let commissionDir: string;
  let running: LoadedDevice[];

  async function start(token?: string, tools?: CommissionTools) {
    devicesDir = join(root, 'devices');
    commissionDir = join(root, 'commission');
    mkdirSync(devicesDir, { recursive: true });
    writeFileSync(join(devicesDir, 'broker.yaml'), broker, { mode: 0o600 });
    running = [loadDeviceFile(join(devicesDir, 'broker.yaml'))];
    clock = new ManualClock();
    const s = await startFixtureServer({
      clock,
      token,
      commission: { dir: commissionDir, running: () => ({ devicesDir, devices: running }), previewer: previewMesBodies, clock, tools },
    });
    web = s.web;
    lines = s.lines;
  }
  beforeEach(() => start());
  afterEach(() => web.close());

  const url = (path: string) => new URL(`/api/commission/${path}`, web.url).toString();
  const host = () => new URL(web.url).host;

  async function openSession(minutes = 60, extra: Record<string, string> = {}) {
    const { token } = writeGrant(commissionDir, clock.now(), minutes);
    const res = await fetch(url('session'), { method: 'POST', headers: { origin: `http://${host()}`, ...extra }, body: JSON.stringify({ token }) });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    const { csrf, expiresAt } = (await res.json()) as { csrf: string; expiresAt: number };
    return { token, cookie: cookie.split(';')[0], setCookie: cookie, csrf, expiresAt };
  }
  function call(path: string, s: { cookie: string; csrf?: string }, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(url(path), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { cookie: s.cookie, ...(s.csrf ? { 'x-csrf-token': s.csrf } : {}), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('is refused while no window is open', async () => {
    expect(await (await fetch(url('session'))).json()).toEqual({ active: false });
    const res = await fetch(url('devices'));
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toBe('SFG_COMMISSION_OFF');
    const post = await fetch(url('session'), { method: 'POST', body: JSON.stringify({ token: 'guess' }) });
    expect(await errorOf(post)).toBe('SFG_COMMISSION_OFF');
  });

  it('exchanges the one-time token once for an HttpOnly SameSite=Strict cookie; the banner sees the time left', async () => {
    const s = await openSession(30);
    expect(s.setCookie).toMatch(/^sfg_commission=[\w-]{43}; Path=\/api\/commission; HttpOnly; SameSite=Strict; Max-Age=1800$/);
    const again = await fetch(url('session'), { method: 'POST', body: JSON.stringify({ token: s.token }) });
    expect(again.status).toBe(403);
    expect(await errorOf(again)).toBe('SFG_COMMISSION_TOKEN');
    expect(lines('commission.token_refused')).toHaveLength(1);
    clock.advance(10 * 60_000);
    expect(await (await call('session', s)).json()).toEqual({ active: true, expiresAt: s.expiresAt, leftMs: 20 * 60_000, csrf: s.csrf });
    expect(JSON.stringify(lines())).not.toContain(s.token);
  });

  it('marks the cookie Secure when a local HTTPS proxy forwarded the browser', async () => {
    const s = await openSession(60, { 'x-forwarded-proto': 'https' });
    expect(s.setCookie).toMatch(/; Secure$/);
  });

  it('ends by itself: after the window the cookie opens nothing', async () => {
    const s = await openSession(30);
    expect((await call('devices', s)).status).toBe(200);
    clock.advance(30 * 60_000);
    expect(await (await call('session', s)).json()).toEqual({ active: false });
    const res = await call('devices', s);
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toBe('SFG_COMMISSION_OFF');
  });

  it('refuses a route without the session cookie, a POST without the CSRF header, and a POST from another origin', async () => {
    const s = await openSession();
    const noCookie = await fetch(url('devices'));
    expect([noCookie.status, await errorOf(noCookie)]).toEqual([401, 'SFG_COMMISSION_SESSION']);
    const preview = { file: 'broker.yaml', yaml: broker };
    const noCsrf = await call('preview', { cookie: s.cookie }, preview);
    expect([noCsrf.status, await errorOf(noCsrf)]).toEqual([403, 'SFG_COMMISSION_CSRF']);
    const wrongCsrf = await call('preview', { cookie: s.cookie, csrf: 'x'.repeat(43) }, preview);
    expect([wrongCsrf.status, await errorOf(wrongCsrf)]).toEqual([403, 'SFG_COMMISSION_CSRF']);
    const foreign = await call('preview', s, preview, { origin: 'http://evil.example' });
    expect([foreign.status, await errorOf(foreign)]).toEqual([403, 'SFG_COMMISSION_ORIGIN']);
    expect((await call('preview', s, preview, { origin: `http://${host()}` })).status).toBe(200);
    // A page on another site cannot even start a session with a stolen token.
    const { token } = writeGrant(commissionDir, clock.now(), 60);
    const stolen = await fetch(url('session'), { method: 'POST', headers: { origin: 'http://evil.example' }, body: JSON.stringify({ token }) });
    expect([stolen.status, await errorOf(stolen)]).toEqual([403, 'SFG_COMMISSION_ORIGIN']);
  });

  it('shows device files with their secrets masked, and a save that keeps the mask keeps the secret', async () => {
    const s = await openSession();
    const [file] = (await (await call('devices', s)).json()) as { file: string; name: string; protocol: string; yaml: string; hash: string }[];
    expect(file).toMatchObject({ file: 'broker.yaml', name: 'broker-1', protocol: 'mqtt', hash: hashOf(broker) });
    expect(file.yaml).not.toContain('s3cret-Pa55');
    const edited = file.yaml.replace('line/count', 'line/good');
    const preview = (await (await call('preview', s, { file: 'broker.yaml', yaml: edited })).json()) as { diff: string; problems: unknown[] };
    expect(preview.problems).toEqual([]);
    expect(preview.diff).toContain('+    count: { topic: line/good }');
    expect(preview.diff).not.toContain('s3cret-Pa55');
    const saved = await call('save', s, { file: 'broker.yaml', yaml: edited, baseHash: file.hash });
    expect(saved.status).toBe(200);
    const onDisk = readFileSync(join(devicesDir, 'broker.yaml'), 'utf8');
    expect(onDisk).toBe(broker.replace('line/count', 'line/good'));
    const [line] = lines('commission.saved');
    expect(line).toMatchObject({ file: 'broker.yaml', client: '127.0.0.1', session: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(JSON.stringify(lines())).not.toContain('s3cret-Pa55');
  });

  it('lets a file that is not UTF-8 (which validate refuses) be loaded and saved in UTF-8', async () => {
    const latin1 = Buffer.concat([Buffer.from(broker), Buffer.from('# Pr\xe9s\n', 'latin1')]);
    writeFileSync(join(devicesDir, 'broker.yaml'), latin1);
    const s = await openSession();
    const [file] = (await (await call('devices', s)).json()) as { yaml: string; hash: string }[];
    expect(file.hash).toBe(hashOf(latin1));
    const saved = await call('save', s, { file: 'broker.yaml', yaml: file.yaml.replace('\ufffd', 'é'), baseHash: file.hash });
    expect(saved.status).toBe(200);
    expect(readFileSync(join(devicesDir, 'broker.yaml'), 'utf8')).toBe(`${broker}# Prés\n`);
  });

  it('refuses a stale save with 409 and an invalid one with 422 and its problems, writing nothing', async () => {
    const s = await openSession();
    const stale = await call('save', s, { file: 'broker.yaml', yaml: broker, baseHash: hashOf('an older version') });
    expect([stale.status, await errorOf(stale)]).toEqual([409, 'SFG_COMMISSION_CONFLICT']);
    const invalid = await call('save', s, { file: 'broker.yaml', yaml: broker.replace('topic:', 'topik:'), baseHash: hashOf(broker) });
    expect(invalid.status).toBe(422);
    const body = (await invalid.json()) as { error: { code: string; problems: { line: number; path: string }[] } };
    expect(body.error.code).toBe('SFG_COMMISSION_INVALID');
    expect(body.error.problems[0]).toMatchObject({ line: 9, path: 'machines[0].count.topik' });
    expect(readFileSync(join(devicesDir, 'broker.yaml'), 'utf8')).toBe(broker);
    expect(lines('commission.saved')).toEqual([]);
  });

  it('rolls a save back in one call', async () => {
    const s = await openSession();
    const edited = broker.replace('line/count', 'line/good');
    const saved = (await (await call('save', s, { file: 'broker.yaml', yaml: edited, baseHash: hashOf(broker) })).json()) as { backup: string };
    const list = (await (await call(`backups?file=broker.yaml`, s)).json()) as { id: string }[];
    expect(list.map((b) => b.id)).toEqual([saved.backup]);
    const rolled = await call('rollback', s, { file: 'broker.yaml', id: saved.backup });
    expect(rolled.status).toBe(200);
    expect(readFileSync(join(devicesDir, 'broker.yaml'), 'utf8')).toBe(broker);
    expect(lines('commission.rolled_back')).toHaveLength(1);
  });

  it('stores the acceptance report and prints it as HTML', async () => {
    const s = await openSession();
    const checklist = [
      { item: 'start the machine: running within 10 s', ok: true, detail: 'running after 3 s' },
      { item: 'make 10 parts: count +10', ok: false, detail: 'count 120 → 129 <b>' },
    ];
    expect((await call('report', s, { device: 'broker-1', checklist, by: 'J. Kowalski' })).status).toBe(200);
    const page = await call('report?device=broker-1', s);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('NOT accepted');
    expect(html).toContain('count 120 → 129 &#60;b&#62;');
    expect(html).toContain('J. Kowalski');
    expect((await call('report?device=nobody', s)).status).toBe(404);
  });

  it('gives the device tools the saved secret where the page sent the mask, and answers a huge body with 413', async () => {
    const checked: unknown[] = [];
    const tools = {
      check: async (device: unknown) => {
        checked.push(device);
        return [{ step: 'mqtt.connect', ok: true }];
      },
    } as unknown as CommissionTools;
    await web.close();
    await start(undefined, tools);
    const s = await openSession();
    const masked = { ...running[0].config, connection: { ...running[0].config.connection, password: '********' } };
    const res = await call('check', s, { device: masked });
    expect(await res.json()).toEqual({ steps: [{ step: 'mqtt.connect', ok: true }] });
    expect(checked).toEqual([expect.objectContaining({ connection: expect.objectContaining({ password: 's3cret-Pa55' }) })]);
    const huge = await call('preview', s, { file: 'broker.yaml', yaml: 'x'.repeat(300 * 1024) });
    expect([huge.status, await errorOf(huge)]).toEqual([413, 'SFG_WEB_BODY_TOO_LARGE']);
  });

  it("answers a tool's refusal of the request as the client's error (400/409), a device's failure as 502", async () => {
    const refusals = ['SFG_COMMISSION_BAD_REQUEST', 'SFG_COMMISSION_SCAN_TOO_BIG', 'SFG_COMMISSION_BUSY', 'SFG_MODBUS_NO_ANSWER'];
    let next = 0;
    const tools = {
      check: async () => {
        throw new GatewayError(refusals[next++], 'refused');
      },
    } as unknown as CommissionTools;
    await web.close();
    await start(undefined, tools);
    const s = await openSession();
    const answers = [];
    for (const _ of refusals) {
      const res = await call('check', s, { device: running[0].config });
      answers.push([res.status, await errorOf(res)]);
    }
    expect(answers).toEqual([
      [400, 'SFG_COMMISSION_BAD_REQUEST'],
      [400, 'SFG_COMMISSION_SCAN_TOO_BIG'],
      [409, 'SFG_COMMISSION_BUSY'],
      [502, 'SFG_MODBUS_NO_ANSWER'],
    ]);
  });

  it('says the device tools are missing rather than failing', async () => {
    const s = await openSession();
    const res = await call('check', s, { device: running[0].config });
    expect([res.status, await errorOf(res)]).toEqual([501, 'SFG_COMMISSION_UNAVAILABLE']);
  });

  it('still needs the web.token login where one is set', async () => {
    await web.close();
    await start(WEB_TOKEN);
    const { token } = writeGrant(commissionDir, clock.now(), 60);
    const anonymous = await fetch(url('session'), { method: 'POST', body: JSON.stringify({ token }) });
    expect(anonymous.status).toBe(401);
    const s = await openSession(60, { authorization: `Bearer ${WEB_TOKEN}` });
    expect((await call('devices', s)).status).toBe(401);
    expect((await call('devices', s, undefined, { authorization: `Bearer ${WEB_TOKEN}` })).status).toBe(200);
  });
});
