/**
 * Fault suite row A3: an MES outage long enough to queue ≥ 1000 changes (counts, waste,
 * parameters, run/stop) across 20 machines, then the catch-up. Everything must arrive
 * exactly; the MES must never see more than requestsPerMinute requests in any 60 s window
 * of its own arrival times (failed ones during the outage included); run/stop transitions
 * that began and ended offline are collapsed as SPEC §4 says; the drain takes as long as
 * the budget predicts.
 *
 * Prediction: coalescing leaves one counter request per machine that changed (parameters
 * ride along) plus one startstop per machine whose current state differs from what the MES
 * last recorded. The budget sends the first at once, then one request every 62/rpm s (its
 * 62 s window spread evenly): drain ≈ (requests − 1) × 62 / rpm, from the first request that gets through
 * to the last (the wait before the first is the gateway's backoff, ≤ 60 s, reported apart).
 * FAULTS_LONG=1: 3000 changes and 20 requests per minute (the catch-up spans several windows).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { SPAN_MS } from '../../src/uplink/rate-budget.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startPlant } from '../helpers/fault-plant.js';
import { startGateway } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const LONG = process.env.FAULTS_LONG === '1';
const CHANGES = LONG ? 3000 : 1000;
const RPM = LONG ? 20 : 60;
const MACHINES = 20;
/** Drain time may differ from the prediction by this share, plus 2 s (request latency, timer granularity). */
const TOLERANCE = 0.2;

/** Run/stop during the outage, per group of five machines (true = running), after the online phase. */
const OFFLINE_RUNSTOP: boolean[][] = [
  [true, false, true], // A: stopped online, then run, stop, run offline → only "running" is sent
  [false, true], // B: a stop that began and ended offline → nothing is sent
  [false, true, false], // C: stop, run, stop offline → only "stopped" is sent
  [], // D: no run/stop change
];

describe('fault suite: MES outage and catch-up', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it(
    `queues ${CHANGES} changes on ${MACHINES} machines while the MES is down, then delivers all within ${RPM}/min as predicted`,
    async () => {
      const plant = await startPlant({ machines: MACHINES, perDevice: 5, pollIntervalMs: 100 });
      defer(() => plant.kill());
      const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: plant.sandboxMachines() });
      defer(() => mes.close());
      const cfg = writeConfig(dir, { mesUrl: mes.url, devices: plant.devices(), requestsPerMinute: RPM });
      const gw = startGateway(cfg.gatewayFile);
      defer(() => gw.kill('SIGKILL'));
      await gw.waitForLog((l) => l.event === 'gateway.started');
      await plant.polled();

      // Online: every machine counts once, group A stops; all of it delivered.
      const group = (i: number) => Math.floor(i / 5);
      for (const [i, m] of plant.machines.entries()) {
        m.count += 1;
        if (group(i) === 0) m.running = false;
      }
      await plant.flush();
      // The first parameters, the counts and the stops: 45 requests, at RPM a minute.
      const onlineMs = 30_000 + (45 * 60_000) / RPM;
      await eventually(
        () => plant.differences(mes.state),
        (d) => d.length === 0,
        onlineMs,
        'online counts delivered',
      );
      await eventually(
        () => plant.machines.slice(0, 5).every((m) => mes.state[m.code].startstop.length === 1),
        (ok) => ok,
        onlineMs,
        'online stops delivered',
      );

      // Outage: every change is seen by the gateway (two polls after each) and queued.
      mes.setDown(true);
      const downAt = Date.now();
      let changes = 0;
      for (let round = 0; changes < CHANGES; round++) {
        for (const [i, m] of plant.machines.entries()) {
          m.count += 1 + ((round + i) % 3);
          changes++;
          if ((round + i) % 7 === 0) {
            m.waste[(round + i) % 2 === 0 ? 'W1' : 'W2'] += 1;
            changes++;
          }
          if ((round + i) % 5 === 0) {
            m.temperature += 1;
            changes++;
          }
          const states = OFFLINE_RUNSTOP[group(i)];
          // Spread over the first rounds, one state per round, so the gateway sees each.
          if (round % 4 === 1 && (round - 1) / 4 < states.length) {
            m.running = states[(round - 1) / 4];
            changes++;
          }
        }
        await plant.flush();
        await plant.polled();
      }
      const queued = queuedRows(cfg.dbPath);
      const requestsBeforeUp = mes.requests.length;
      const startstopBefore = plant.machines.map((m) => mes.state[m.code].startstop.length);
      const expectedStartstops = plant.machines.filter((m) => (m.running ? 1 : 0) !== (mes.state[m.code].startstop.at(-1)?.running ?? 1)).length;
      const expectedRequests = MACHINES + expectedStartstops;
      const predictedMs = (Math.max(0, expectedRequests - 1) * SPAN_MS) / RPM;

      mes.setDown(false);
      const upAt = Date.now();
      await eventually(
        () => plant.differences(mes.state),
        (d) => d.length === 0,
        240_000 + predictedMs,
        'MES totals equal to the PLC',
      );
      await eventually(
        () =>
          plant.machines.filter(
            (m) => mes.state[m.code].parameters.temperature !== m.temperature || (m.running ? 1 : 0) !== (mes.state[m.code].startstop.at(-1)?.running ?? 1),
          ),
        (late) => late.length === 0,
        60_000,
        'parameters and run/stop delivered',
      );
      const catchUp = mes.requests.slice(requestsBeforeUp).filter((r) => r.status === 200);
      const firstAt = catchUp[0].at;
      const lastAt = catchUp.at(-1)!.at;
      const drainMs = lastAt - firstAt;
      console.info(
        `outage-catch-up changes=${changes} machines=${MACHINES} rpm=${RPM} outage=${upAt - downAt}ms queued=${JSON.stringify(queued)} ` +
          `requests=${catchUp.length} expected=${expectedRequests} firstTryAfterUp=${firstAt - upAt}ms drain=${drainMs}ms predicted=${predictedMs}ms ` +
          `busiest=${mes.busiestMinute()}`,
      );

      expect(changes).toBeGreaterThanOrEqual(CHANGES);
      expect(plant.differences(mes.state)).toEqual([]);
      // Run/stop: one request for A and C (their current state), none for B and D.
      const sentAfter = plant.machines.map((m, i) => mes.state[m.code].startstop.slice(startstopBefore[i]).map((s) => s.running));
      expect(sentAfter).toEqual(plant.machines.map((_, i) => [[1], [], [0], []][group(i)]));
      const collapsed = collapsedPerMachine(cfg.dbPath);
      expect(plant.machines.map((m) => collapsed[m.code] ?? 0)).toEqual(plant.machines.map((_, i) => [2, 2, 2, 0][group(i)]));
      // Nothing sent twice: one request per counter and transition, as predicted.
      expect(catchUp.length).toBe(expectedRequests);
      expect(mes.requests.filter((r) => r.status === 429)).toEqual([]);
      expect(mes.busiestMinute()).toBeLessThanOrEqual(RPM);
      expect(drainMs).toBeGreaterThanOrEqual(predictedMs * (1 - TOLERANCE) - 2000);
      expect(drainMs).toBeLessThanOrEqual(predictedMs * (1 + TOLERANCE) + 2000);
    },
    LONG ? 20 * 60_000 : 240_000,
  );
});

/** What the gateway has queued, read from its database while it runs (WAL lets a reader in). */
function queuedRows(dbPath: string): { counters: number; parameters: number; startstops: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      counters: one(`SELECT count(*) AS n FROM counter_state WHERE total > delivered`),
      parameters: one(`SELECT count(*) AS n FROM outbox WHERE kind = 'parameter'`),
      startstops: one(`SELECT count(*) AS n FROM outbox WHERE kind = 'startstop'`),
    };
  } finally {
    db.close();
  }
}

function collapsedPerMachine(dbPath: string): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare(`SELECT machine, count(*) AS n FROM history WHERE kind = 'startstop' AND outcome = 'collapsed' GROUP BY machine`).all() as {
      machine: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.machine, r.n]));
  } finally {
    db.close();
  }
}
