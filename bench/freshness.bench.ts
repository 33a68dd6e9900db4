/**
 * Benchmark (not a test): how fresh the MES's counts stay under the rate limit
 * (issue 9 item 3, docs/rate-budget.md#freshness). N machines all counting, with waste,
 * parameter changes and stops, go through the real processor, outbox, scheduler, rate
 * budget, MES client and uploader to the MES sandbox over loopback HTTP (company limit
 * 120/min, gateway 100/min), on one simulated clock (test/helpers/uplink-plant.ts).
 * Baselines: the ideal round robin, N / (rpm/60) s between two deliveries of a machine, and
 * the naive one request per change. A second table: 250 machines each stopping about once a
 * minute — more run/stop than the budget holds — must still get counts through.
 * Each N runs twice: with stops (each machine once in 30 min, for 30 s) and parameter changes
 * (every 45 s), and with counts and waste only.
 * Each N runs twice: with stops (each machine once in 30 min, for 30 s) and parameter changes
 * (every 45 s), and with counts and waste only.
 * Run: npm run bench -- freshness   (BENCH_QUICK=1: N = 10 and 50, one run each).
 */
import { SPAN_MS } from '../src/uplink/rate-budget.js';
import { startUplinkPlant, type SimMachine, type UplinkPlant } from '../test/helpers/uplink-plant.js';
import { table } from './plant.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PER_MINUTE = 100;
const SIZES = QUICK ? [10, 50] : [10, 50, 200];
const RUNS = QUICK ? 1 : 3;
const POLL_MS = 1000;
/** Each machine stops once in this long, for STOP_MS, and its parameter changes every PARAM_MS. */
const STOP_EVERY_MS = 30 * 60_000;
const STOP_MS = 30_000;
const PARAM_MS = 45_000;

interface Changes {
  /** Times and totals of every count change, oldest first. */
  counts: { at: number; count: number }[];
  updates: number;
}

/** A deterministic spread of phases per machine and run. */
const phase = (i: number, run: number, period: number) => ((i * 7919 + run * 104_729) * 37) % period;

/** Changes the PLCs as a plant would: counting while running, waste now and then, stops, parameter moves. */
function production(
  machines: SimMachine[],
  run: number,
  start: number,
  stopEvery: number,
  stopFor: number,
  params: boolean,
  changes: Changes[],
  counting: () => boolean,
) {
  return (now: number) => {
    if (!counting()) return;
    const t = now - start;
    for (const [i, m] of machines.entries()) {
      const c = changes[i];
      const running = (t + phase(i, run, stopEvery)) % stopEvery >= stopFor;
      if (running !== m.running) c.updates++;
      m.running = running;
      if (running) {
        m.count += 1 + ((i + t / POLL_MS) % 3);
        c.counts.push({ at: now, count: m.count });
        c.updates++;
        if ((i + t / POLL_MS) % 7 === 0) {
          m.waste++;
          c.updates++;
        }
      }
      if (params && (t + phase(i, run, PARAM_MS)) % PARAM_MS < POLL_MS) {
        m.temp = m.temp === 20 ? 21.5 : 20;
        c.updates++;
      }
    }
  };
}

/** How long the MES's count of a machine has lagged: since the first change it does not show yet (0 when current). */
function age(c: Changes, shown: number, now: number): number {
  let lo = 0;
  let hi = c.counts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.counts[mid].count > shown) hi = mid;
    else lo = mid + 1;
  }
  return lo === c.counts.length ? 0 : now - c.counts[lo].at;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

interface Figures {
  p50: number;
  p99: number;
  max: number;
  gap: number;
  gapRatio: number;
  /** Share of the requests that carried counters; the rest were run/stop and parameters-only. */
  counterShare: number;
  /** Max gap over the mean time between two deliveries of a machine with that share: 1 = perfect round robin. */
  gapRotation: number;
  used: number;
  rejected: number;
  lost: number;
  perRequest: number;
  sendGapMax: number;
  sendGapMin: number;
}

/** Mismatches between what the PLCs counted and what the MES holds, after the drain. */
function lost(plant: UplinkPlant): number {
  return plant.machines.filter((m) => (plant.mes.state[m.code].count ?? 0) !== m.count || (plant.mes.state[m.code].waste.W1 ?? 0) !== m.waste).length;
}

/** `mixed`: with stops and parameter changes; else counts and waste only. */
async function freshness(n: number, run: number, mixed: boolean): Promise<Figures> {
  const plant = await startUplinkPlant({ machines: n, perMinute: PER_MINUTE, pollMs: POLL_MS });
  try {
    const ideal = (n * 60_000) / PER_MINUTE;
    const start = plant.clock.now();
    const from = start + Math.max(60_000, 1.5 * ideal);
    const until = from + Math.max(120_000, 3 * ideal);
    const changes: Changes[] = plant.machines.map(() => ({ counts: [], updates: 0 }));
    const ages: number[] = [];
    let counting = true;
    const step = production(plant.machines, run, start, STOP_EVERY_MS, mixed ? STOP_MS : 0, mixed, changes, () => counting);
    await plant.runUntil(from, step);
    const updatesBefore = changes.reduce((s, c) => s + c.updates, 0);
    await plant.runUntil(until, (now) => {
      for (const [i, m] of plant.machines.entries()) ages.push(age(changes[i], plant.mes.state[m.code].count ?? 0, now));
      step(now);
    });
    const updates = changes.reduce((s, c) => s + c.updates, 0) - updatesBefore;
    const requests = plant.mes.requests.filter((r) => r.at >= from && r.at < until);
    // Largest gap between two counter deliveries of a machine that had counts waiting right after the first.
    let gap = 0;
    for (const [i, m] of plant.machines.entries()) {
      const at = plant.mes.state[m.code].counterLog.map((e) => e.at).filter((t) => t >= from && t < until);
      for (let k = 1; k < at.length; k++) {
        if (changes[i].counts.some((c) => c.at > at[k - 1] && c.at <= at[k - 1] + POLL_MS)) gap = Math.max(gap, at[k] - at[k - 1]);
      }
    }
    const sendGaps = requests.slice(1).map((r, k) => r.at - requests[k].at);
    const counterRequests = requests.filter((r) => r.path.endsWith('/counter')).length;
    counting = false;
    const drained = await plant.drain(10 * 60_000);
    ages.sort((a, b) => a - b);
    return {
      p50: quantile(ages, 0.5) / 1000,
      p99: quantile(ages, 0.99) / 1000,
      max: ages[ages.length - 1] / 1000,
      gap: gap / 1000,
      gapRatio: gap / ideal,
      counterShare: counterRequests / requests.length,
      gapRotation: gap / ((n * (until - from)) / counterRequests),
      used: requests.length / ((PER_MINUTE * (until - from)) / 60_000),
      rejected: plant.mes.requests.filter((r) => r.status === 429).length,
      lost: drained ? lost(plant) : plant.machines.length,
      perRequest: updates / requests.length,
      sendGapMax: Math.max(...sendGaps) / (SPAN_MS / PER_MINUTE),
      sendGapMin: Math.min(...sendGaps) / (SPAN_MS / PER_MINUTE),
    };
  } finally {
    await plant.close();
  }
}

interface FlapFigures {
  counters: number;
  countersServed: number;
  startstops: number;
  collapsed: number;
  maxAge: number;
  rejected: number;
  lost: number;
}

/** 250 machines each stopping about once a minute for 20 s: 500 transitions a minute against a budget of 100. */
async function flapping(run: number, machines = 250, minutes = 2): Promise<FlapFigures> {
  const plant = await startUplinkPlant({ machines, perMinute: PER_MINUTE, pollMs: POLL_MS });
  try {
    const start = plant.clock.now();
    const until = start + minutes * 60_000;
    const changes: Changes[] = plant.machines.map(() => ({ counts: [], updates: 0 }));
    let counting = true;
    let maxAge = 0;
    const step = production(plant.machines, run, start, 60_000, 20_000, true, changes, () => counting);
    await plant.runUntil(until, (now) => {
      for (const [i, m] of plant.machines.entries()) maxAge = Math.max(maxAge, age(changes[i], plant.mes.state[m.code].count ?? 0, now));
      step(now);
    });
    const ok = plant.mes.requests.filter((r) => r.at < until && r.status === 200);
    const counters = ok.filter((r) => r.path.endsWith('/counter'));
    const collapsed = plant.db.prepare(`SELECT COUNT(*) AS n FROM history WHERE kind = 'startstop' AND outcome = 'collapsed'`).get() as { n: number };
    counting = false;
    const drained = await plant.drain(15 * 60_000);
    return {
      counters: counters.length,
      countersServed: new Set(counters.map((r) => r.path)).size,
      startstops: ok.filter((r) => r.path.endsWith('/startstop')).length,
      collapsed: collapsed.n,
      maxAge: maxAge / 1000,
      rejected: plant.mes.requests.filter((r) => r.status === 429).length,
      lost: drained ? lost(plant) : plant.machines.length,
    };
  } finally {
    await plant.close();
  }
}

/** "min / median / max" of one figure over the runs. */
function spread<T>(runs: T[], pick: (r: T) => number, digits = 1): string {
  const v = runs.map(pick).sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(digits);
  return v.length === 1 ? f(v[0]) : `${f(v[0])} / ${f(v[Math.floor(v.length / 2)])} / ${f(v[v.length - 1])}`;
}

const wall = Date.now();
console.log(`gateway ${PER_MINUTE}/min, sandbox 120/min; ${RUNS === 1 ? '1 run' : `min / median / max of ${RUNS} runs`}; ages and gaps in simulated seconds`);
const rows: string[][] = [];
for (const [n, mixed] of [...SIZES.map((n) => [n, true] as const), ...SIZES.map((n) => [n, false] as const)]) {
  const runs: Figures[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await freshness(n, run, mixed));
  const ideal = (n * 60) / PER_MINUTE;
  rows.push([
    `${n}${mixed ? '' : ', counts only'}`,
    spread(runs, (r) => r.p50),
    spread(runs, (r) => r.p99),
    spread(runs, (r) => r.max),
    `${spread(runs, (r) => r.gap)} (${ideal.toFixed(1)})`,
    spread(runs, (r) => r.gapRatio, 3),
    spread(runs, (r) => 100 * r.counterShare, 0),
    spread(runs, (r) => r.gapRotation, 3),
    spread(runs, (r) => 100 * r.used, 1),
    spread(runs, (r) => r.rejected, 0),
    spread(runs, (r) => r.lost, 0),
    spread(runs, (r) => r.perRequest, 2),
    `${spread(runs, (r) => r.sendGapMin, 2)} … ${spread(runs, (r) => r.sendGapMax, 2)}`,
  ]);
}
table(
  [
    'N',
    'age p50 s',
    'age p99 s',
    'age max s',
    'max gap s (ideal)',
    'gap / ideal',
    'counter requests %',
    'gap / rotation',
    'budget used %',
    '429s',
    'machines off',
    'updates / request',
    'send gaps / nominal',
  ],
  rows,
);
console.log(
  `budget used: requests per ${PER_MINUTE}/min while every machine counts; nominal send gap ${SPAN_MS / PER_MINUTE} ms (${PER_MINUTE} per ${SPAN_MS / 1000} s window)`,
);
console.log('gap / rotation: max gap over N × (time / counter requests), the mean rotation with the run/stop and parameters-only requests that came on top');
console.log('machines off: machines whose MES count or waste differs from the PLC after the drain (0 = every final total exact)');
console.log('updates / request: count, waste, parameter and run/stop changes per request; the naive one request per change is 1.00');

const flaps: FlapFigures[] = [];
for (let run = 0; run < RUNS; run++) flaps.push(await flapping(run));
console.log('\n250 machines each stopping about once a minute (20 s), first 2 simulated minutes');
table(
  ['counter requests', 'machines whose count arrived', 'startstop requests', 'transitions collapsed', 'age max s', '429s', 'machines off'],
  [
    [
      spread(flaps, (r) => r.counters, 0),
      spread(flaps, (r) => r.countersServed, 0),
      spread(flaps, (r) => r.startstops, 0),
      spread(flaps, (r) => r.collapsed, 0),
      spread(flaps, (r) => r.maxAge, 0),
      spread(flaps, (r) => r.rejected, 0),
      spread(flaps, (r) => r.lost, 0),
    ],
  ],
);
console.log(`\nwall time ${((Date.now() - wall) / 1000).toFixed(1)} s`);
