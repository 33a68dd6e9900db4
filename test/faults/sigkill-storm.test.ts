/**
 * Fault suite row A1: SIGKILL storm. Three machines produce (count, two waste codes, run/stop)
 * on a real pymodbus PLC while the MES, behind the fault proxy, is slow and flaky; the real
 * gateway process is killed with SIGKILL at seeded moments — at a random time, right as a
 * request reaches the MES (mid-request), right as a poll starts (mid-poll / mid-transaction).
 * After each kill SQLite's integrity check must pass; at the end the MES must hold exactly
 * what the PLC counted, every run/stop transition at most once, and never a 429 of its own.
 * FAULTS_LONG=1 (npm run test:faults): 50 kills instead of 12. FAULTS_SEED=<n> replays a run.
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startFaultProxy, type Fault } from '../helpers/fault-proxy.js';
import { integrityCheck, runStopProblems } from '../helpers/fault-checks.js';
import { dumpOnFailure, faultDump } from '../helpers/fault-dump.js';
import { startPlant, WASTE } from '../helpers/fault-plant.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { faultSeed, seededRandom, type SeededRandom } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const LONG = process.env.FAULTS_LONG === '1';
const KILLS = LONG ? 50 : 12;
const RPM = 100;
/** Stands for the MES's 15 s answers: any delay above timeoutMs is a timeout to the gateway. */
const TIMEOUT_MS = 1500;

/** Slow and flaky: about one request in four goes wrong, in every way a real MES path does. */
function flakyMes(r: SeededRandom): Fault {
  const x = r.next();
  if (x < 0.55) return { kind: 'pass' };
  if (x < 0.75) return { kind: 'delay', ms: 100 + r.int(400) };
  if (x < 0.79) return { kind: 'delay', ms: TIMEOUT_MS + 1000 };
  if (x < 0.83) return { kind: 'reset-before' };
  if (x < 0.88) return { kind: 'reset-after' };
  if (x < 0.92) return { kind: 'status', status: 500 };
  if (x < 0.95) return { kind: 'garbage', forward: true };
  if (x < 0.97) return { kind: 'garbage', forward: false };
  return { kind: 'status', status: 429, headers: { 'retry-after': '1' } };
}

/** How the uncertain sends of all runs were resolved, by log event: how much of the delivery path a seed exercised. */
function settlements(runs: Record<string, unknown>[][]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of runs.flat())
    if (typeof l.event === 'string' && /^(startstop\.(verified|not_arrived|unverifiable)|counter\.(settled|unsure))$/.test(l.event))
      out[l.event] = (out[l.event] ?? 0) + 1;
  return out;
}

describe('fault suite: SIGKILL storm', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it(
    `${KILLS} SIGKILLs at random moments while three machines produce and the MES is slow and flaky lose and double nothing`,
    async () => {
      const seed = faultSeed();
      onTestFailed(() => console.error(`sigkill-storm: replay with FAULTS_SEED=${seed}`));
      const faults = seededRandom(seed);
      const moments = seededRandom(seed + 1);
      const work = seededRandom(seed + 2);

      const plant = await startPlant({ machines: 3, perDevice: 1, pollIntervalMs: 50 });
      defer(() => plant.kill());
      const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: plant.sandboxMachines() });
      defer(() => mes.close());
      const proxy = await startFaultProxy({ target: mes.url, random: faults });
      defer(() => proxy.close());
      proxy.setPolicy(flakyMes);
      const cfg = writeConfig(dir, { mesUrl: proxy.url, devices: plant.devices(), requestsPerMinute: RPM, timeoutMs: TIMEOUT_MS });

      // Production goes on the whole time, also while the gateway is dead.
      let producing = true;
      const producer = (async () => {
        while (producing) {
          const m = plant.machines[work.int(plant.machines.length)];
          m.count += 1 + work.int(5);
          if (work.chance(0.3)) m.waste[WASTE[work.int(WASTE.length)]] += 1;
          if (work.chance(0.08)) m.running = !m.running;
          await plant.flush();
          await new Promise((r) => setTimeout(r, 20 + work.int(150)));
        }
      })();

      let gw: GatewayProcess | undefined;
      defer(() => gw?.kill('SIGKILL'));
      const runs: Record<string, unknown>[][] = [];
      const start = () => {
        gw = startGateway(cfg.gatewayFile);
        runs.push(gw.logs);
        return gw;
      };
      const dump = () =>
        faultDump({
          name: 'sigkill-storm',
          dbPath: cfg.dbPath,
          runs,
          mes: mes.state,
          machines: plant.machines.map((m) => m.code),
          records: { plc: plant.machines, proxy: proxy.requests, mesRequests: mes.requests },
        });
      // A failure in the storm itself (a gateway that never starts) leaves the same evidence.
      await dumpOnFailure(async () => {
        const integrity: string[] = [];
        const modes = { time: 0, request: 0, poll: 0 };
        for (let k = 0; k < KILLS; k++) {
          gw = start();
          // A bound, not a timing: on two busy cores loading the adapters has taken over 20 s.
          await gw.waitForLog((l) => l.event === 'gateway.started', 60_000);
          const mode = (['time', 'request', 'poll'] as const)[moments.int(3)];
          modes[mode]++;
          if (mode === 'time') await new Promise((r) => setTimeout(r, 100 + moments.int(2000)));
          else {
            const seen = mode === 'request' ? () => proxy.requests.length : () => plant.plc.requests.length;
            const from = seen();
            // Not every run gets a request out before the budget or a backoff allows: bounded.
            await eventually(seen, (n) => n > from, 5_000, `a ${mode} to kill in`).catch(() => undefined);
          }
          await gw.kill('SIGKILL');
          integrity.push(integrityCheck(cfg.dbPath));
          await new Promise((r) => setTimeout(r, moments.int(300)));
        }
        producing = false;
        await producer;
        await plant.flush();
        proxy.setPolicy(null);

        start();
        await eventually(
          () => plant.differences(mes.state),
          (d) => d.length === 0,
          120_000,
          'MES totals equal to the PLC',
        );
        await eventually(
          // A MES that has no run/stop of a machine takes it as running, as the gateway does (docs/delivery.md#offline-collapse-of-runstop).
          () => plant.machines.filter((m) => (mes.state[m.code].startstop.at(-1)?.running ?? 1) !== (m.running ? 1 : 0)),
          (late) => late.length === 0,
          30_000,
          'the MES run/stop state equal to the PLC',
        );
        const busiest = mes.busiestMinute();
        const integrityOk = integrity.filter((x) => x === 'ok').length;
        console.info(
          `sigkill-storm seed=${seed} kills=${KILLS} ${JSON.stringify(modes)} faults=${JSON.stringify(proxy.tally())} integrityOk=${integrityOk} ` +
            `mesRequests=${mes.requests.length} mes429=${mes.requests.filter((r) => r.status === 429).length} busiest=${busiest} ` +
            `settlements=${JSON.stringify(settlements(runs))}`,
        );

        expect(integrity).toEqual(Array(KILLS).fill('ok'));
        expect(plant.differences(mes.state)).toEqual([]);
        for (const m of plant.machines) {
          // Every accepted count was larger than the one before: nothing doubled.
          const counts = mes.state[m.code].counterLog.flatMap((c) => (c.count === undefined ? [] : [c.count]));
          expect(
            counts.every((c, i) => i === 0 || c > counts[i - 1]),
            `${m.code} counts ${counts.join(',')}`,
          ).toBe(true);
          expect(runStopProblems(m.code, mes.state[m.code].startstop, m.transitions)).toEqual([]);
        }
        expect(mes.requests.filter((r) => r.status === 429)).toEqual([]);
        expect(busiest).toBeLessThanOrEqual(RPM);
      }, dump);
    },
    LONG ? 30 * 60_000 : 170_000,
  );
});
