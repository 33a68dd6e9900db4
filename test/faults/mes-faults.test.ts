/**
 * Fault suite row A2: every way the MES (or what stands between it and the gateway) fails,
 * injected by the fault proxy into the real gateway process's requests, on each endpoint:
 * 500, reset before forwarding, reset after forwarding (the MES took it, the gateway never
 * heard), an answer slower than timeoutMs (the MES's 15 s answers: timeoutMs is 1.5 s here
 * and the answer comes 1 s after it), 200 with a garbage body (taken or not), 429 with and
 * without Retry-After, a huge Retry-After, 401 with Basic auth, and token expiry mid-run.
 * Nothing may be lost or doubled, and the gateway must pause exactly as the MES asks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFailed } from 'vitest';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig, type TestConfig } from '../helpers/config-files.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../helpers/fault-proxy.js';
import { runStopProblems } from '../helpers/fault-checks.js';
import { startPlant, type Plant } from '../helpers/fault-plant.js';
import { startGateway, statusUrl, type GatewayProcess } from '../helpers/gateway-process.js';
import { faultSeed, seededRandom } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const LONG = process.env.FAULTS_LONG === '1';
const TIMEOUT_MS = 1500;
const MINUTE = 60_000;
/** No pause is longer (SPEC: Retry-After honoured; the gateway caps what a clock step could stretch). */
const MAX_PAUSE_MS = 15 * MINUTE;

interface Rig {
  plant: Plant;
  mes: MesSandbox;
  proxy: FaultProxy;
  cfg: TestConfig;
  gw: GatewayProcess;
}

interface Status {
  mes: { pausedUntil?: number; authProblem?: string };
  deadLetters: unknown[];
  outbox: { pending: number };
}

describe('fault suite: MES faults', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  async function rig(opts: { tokenAuth?: boolean } = {}): Promise<Rig> {
    const seed = faultSeed();
    onTestFailed(() => console.error(`mes-faults: replay with FAULTS_SEED=${seed}`));
    const plant = await startPlant({ machines: 2, perDevice: 2, pollIntervalMs: 50 });
    defer(() => plant.kill());
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: plant.sandboxMachines() });
    defer(() => mes.close());
    const proxy = await startFaultProxy({ target: mes.url, random: seededRandom(seed) });
    defer(() => proxy.close());
    const cfg = writeConfig(dir, { mesUrl: proxy.url, devices: plant.devices(), timeoutMs: TIMEOUT_MS, tokenAuth: opts.tokenAuth });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill('SIGKILL'));
    await gw.waitForLog((l) => l.event === 'gateway.started');
    // Idle before the faults: the parameters first seen at start are delivered, nothing in flight.
    await eventually(
      () => plant.machines.every((m) => mes.state[m.code].parameters.temperature === m.temperature),
      (ok) => ok,
      30_000,
      'first parameters delivered',
    );
    return { plant, mes, proxy, cfg, gw };
  }

  const status = async (gw: GatewayProcess) => (await (await fetch(`${await statusUrl(gw)}/api/status`)).json()) as Status;
  const exact = (r: Rig, what: string, timeoutMs = 30_000) =>
    eventually(
      () => r.plant.differences(r.mes.state),
      (d) => d.length === 0,
      timeoutMs,
      what,
    );
  const endpoint = (name: string) => (_m: string, path: string) => path.endsWith(`/${name}`);

  it(
    '500s, resets before and after forwarding, answers slower than timeoutMs and garbage 200s on every endpoint lose and double nothing',
    async () => {
      const r = await rig();
      const [m1, m2] = r.plant.machines;
      const faults: Fault[] = [
        { kind: 'status', status: 500 },
        { kind: 'reset-before' },
        { kind: 'reset-after' },
        { kind: 'delay', ms: TIMEOUT_MS + 1000 },
        { kind: 'garbage', forward: true },
        { kind: 'garbage', forward: false },
      ];
      const changes = {
        counter: () => {
          m1.count += 3;
          m1.waste.W1 += 1;
        },
        parameters: () => {
          m2.temperature += 1;
        },
        startstop: () => {
          m2.running = !m2.running;
        },
      };
      const rounds = LONG ? 3 : 1;
      for (let round = 0; round < rounds; round++) {
        for (const fault of faults) {
          for (const [name, change] of Object.entries(changes)) {
            const sent = r.proxy.requests.length;
            r.proxy.inject([fault], endpoint(name));
            change();
            await r.plant.flush();
            // The fault was used, and afterwards the MES has what the PLC has.
            await eventually(
              () => r.proxy.requests.slice(sent).some((p) => p.fault === fault),
              (ok) => ok,
              30_000,
              `${fault.kind} injected on ${name}`,
            );
            await exact(r, `totals after ${fault.kind} on ${name}`);
            await eventually(
              () => [
                r.mes.state[m2.code].parameters.temperature === m2.temperature,
                (r.mes.state[m2.code].startstop.at(-1)?.running ?? 1) === (m2.running ? 1 : 0),
              ],
              (ok) => ok.every(Boolean),
              30_000,
              `parameter and run/stop after ${fault.kind} on ${name}`,
            );
          }
        }
      }
      console.info(`mes-faults injected=${JSON.stringify(r.proxy.tally())}`);
      expect(r.plant.differences(r.mes.state)).toEqual([]);
      const counts = r.mes.state[m1.code].counterLog.flatMap((c) => (c.count === undefined ? [] : [c.count]));
      expect(counts.every((c, i) => i === 0 || c > counts[i - 1])).toBe(true);
      // Which fault made a transition arrive twice: the MES's k-th startstop came from the k-th
      // forwarded one, so a repeat at k means the answer to k − 1 was lost on its way back.
      const forwarded = r.proxy.requests.filter((p) => p.forwarded && p.path.endsWith('/startstop'));
      const recordedTwice = r.mes.state[m2.code].startstop.flatMap((e, k, all) =>
        e.running === (k === 0 ? 1 : all[k - 1].running) ? [`after ${JSON.stringify(forwarded[k - 1]?.fault)}`] : [],
      );
      expect(recordedTwice).toEqual([]);
      expect(runStopProblems(m2.code, r.mes.state[m2.code].startstop, m2.transitions)).toEqual([]);
      expect((await status(r.gw)).deadLetters).toEqual([]);
    },
    LONG ? 10 * MINUTE : 150_000,
  );

  it(
    '429 with Retry-After pauses every send that long, then delivers; without it the pause is one minute, also across a restart',
    async () => {
      const r = await rig();
      const [m1, m2] = r.plant.machines;
      r.proxy.inject([{ kind: 'status', status: 429, headers: { 'retry-after': '3' } }]);
      m1.count += 1;
      await r.plant.flush();
      const limited = await eventually(
        () => r.proxy.requests.find((p) => p.fault.kind === 'status'),
        (p) => p !== undefined,
        20_000,
        'the 429',
      );
      m2.count += 1; // another machine's change waits too: the limit is company-wide
      await r.plant.flush();
      await exact(r, 'totals after the 429 pause');
      const after = r.proxy.requests.filter((p) => p.at > limited!.at);
      expect(after[0].at - limited!.at).toBeGreaterThanOrEqual(3000);

      r.proxy.inject([{ kind: 'status', status: 429 }]);
      m1.count += 1;
      await r.plant.flush();
      const bare = await eventually(
        () => r.proxy.requests.filter((p) => p.fault.kind === 'status')[1],
        (p) => p !== undefined,
        20_000,
        'the 429 without Retry-After',
      );
      const paused = await eventually(
        async () => (await status(r.gw)).mes.pausedUntil,
        (t) => t !== undefined,
        5_000,
        'the pause shown',
      );
      expect(paused! - bare!.at).toBeGreaterThanOrEqual(MINUTE - 1000);
      expect(paused! - bare!.at).toBeLessThanOrEqual(MINUTE + 1000);
      // A restart must not send before the pause ends: it is on disk.
      await r.gw.kill('SIGKILL');
      const saved = savedPause(r.cfg.dbPath);
      expect(saved).toBe(paused);
      r.gw = startGateway(r.cfg.gatewayFile);
      defer(() => r.gw.kill('SIGKILL'));
      await r.gw.waitForLog((l) => l.event === 'gateway.started');
      if (LONG) {
        await exact(r, 'totals after the one-minute pause', 2 * MINUTE);
        expect(r.proxy.requests.filter((p) => p.at > bare!.at)[0].at).toBeGreaterThanOrEqual(paused!);
      } else {
        expect((await status(r.gw)).mes.pausedUntil).toBe(paused);
        expect(r.proxy.requests.filter((p) => p.at > bare!.at)).toEqual([]);
      }
    },
    LONG ? 5 * MINUTE : 60_000,
  );

  it('a huge Retry-After (99999 s) pauses sends, but never longer than 15 minutes', async () => {
    const r = await rig();
    r.proxy.inject([{ kind: 'status', status: 429, headers: { 'retry-after': '99999' } }]);
    r.plant.machines[0].count += 1;
    await r.plant.flush();
    const limited = await eventually(
      () => r.proxy.requests.find((p) => p.fault.kind === 'status'),
      (p) => p !== undefined,
      20_000,
      'the 429',
    );
    const paused = await eventually(
      async () => (await status(r.gw)).mes.pausedUntil,
      (t) => t !== undefined,
      5_000,
      'the pause shown',
    );
    expect(paused! - limited!.at).toBeGreaterThan(MINUTE);
    expect(paused! - limited!.at).toBeLessThanOrEqual(MAX_PAUSE_MS + 1000);
    const saved = savedPause(r.cfg.dbPath);
    expect(saved - limited!.at).toBeLessThanOrEqual(MAX_PAUSE_MS + 1000);
  }, 60_000);

  it(
    'tokens expiring mid-run are renewed once each and nothing is lost',
    async () => {
      const r = await rig({ tokenAuth: true });
      const m1 = r.plant.machines[0];
      const expiries = LONG ? 10 : 3;
      for (let k = 0; k < expiries; k++) {
        m1.count += 2;
        await r.plant.flush();
        await exact(r, `totals before expiry ${k}`);
        r.mes.tokens.expireAll();
        m1.count += 2;
        m1.waste.W2 += 1;
        await r.plant.flush();
        await exact(r, `totals after expiry ${k}`);
      }
      const refused = r.mes.requests.filter((q) => q.status === 401);
      const created = r.mes.requests.filter((q) => q.path === '/api/authorization' && q.method === 'POST');
      // One refused request and one new token per expiry (plus the first token), never a storm.
      expect(refused.length).toBe(expiries);
      expect(created.length).toBe(expiries + 1);
      expect((await status(r.gw)).deadLetters).toEqual([]);
    },
    LONG ? 5 * MINUTE : 60_000,
  );

  it('a 401 with Basic auth stops sending and says so; saving gateway.yaml after the fix resumes, nothing lost', async () => {
    const r = await rig();
    const m1 = r.plant.machines[0];
    r.proxy.setPolicy(() => ({ kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="Prodsmart"' } }));
    m1.count += 5;
    await r.plant.flush();
    const shown = await eventually(
      async () => (await status(r.gw)).mes.authProblem,
      (p) => p !== undefined,
      20_000,
      'the auth problem shown',
    );
    expect(shown).toContain('401');
    expect(shown).not.toContain('test-secret');
    const refused = r.proxy.requests.length;
    m1.count += 5;
    await r.plant.flush();
    await r.plant.polled(4);
    expect(r.proxy.requests.length).toBe(refused); // stopped, not hammering the MES
    r.proxy.setPolicy(null);
    // What a technician does after fixing the key: save gateway.yaml (unchanged here).
    writeFileSync(r.cfg.gatewayFile, readFileSync(r.cfg.gatewayFile));
    await exact(r, 'totals after the credentials were fixed');
    expect((await status(r.gw)).deadLetters).toEqual([]);
  }, 60_000);
});

/** The 429 pause the gateway stored for its next start. */
function savedPause(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return Number((db.prepare(`SELECT value FROM kv WHERE key = 'uplink.pausedUntil'`).get() as { value: string }).value);
  } finally {
    db.close();
  }
}
