/**
 * Benchmark (not a test): how fresh the MES's counts stay when G gateways share one company
 * budget on Redis (issue 10 point 3, docs/rate-budget.md#several-gateways). N machines in
 * total, split unevenly over G real gateway processes (each on its own pymodbus PLC and
 * database), all counting every second (counts and waste only), one real redis-server,
 * one MES sandbox at 120/min, company figure 115/min (test/helpers/gateway-fleet.ts). In
 * real time: Redis's clock decides. Figures per G: the largest gap between two counter deliveries of a machine, the
 * age of the MES's count (p50/p99/max, sampled every second for every machine), the
 * requests used against the company figure, 429s, and machines whose final total is off.
 * Side by side: the single-gateway ideal N / (rpm/60) s, the target ≤ 1.2 × it, and a
 * baseline measured in the same run: one gateway alone at 115/min, no Redis.
 * Per run, the worst gap is named: its machine, when it began (s into the measured window),
 * and the budget events (fallback, rejoin) any gateway logged during it, so a gap over the
 * target can be traced to its cause.
 * Run: npm run bench -- shared-freshness   (BENCH_QUICK=1: one run each, shorter;
 * SHARED_G=5: only the baseline and the layouts with that many gateways).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Closer } from '../test/helpers/cleanup.js';
import { startFleet, type Fleet, type Production } from '../test/helpers/gateway-fleet.js';
import { spread, table } from './plant.js';

const QUICK = process.env.BENCH_QUICK === '1';
const COMPANY = 115;
const N = 40;
/** Machines per gateway, N in all, uneven so that fairness across machines (not gateways) shows. */
const LAYOUTS: { label: string; machines: number[]; shared: boolean }[] = [
  { label: 'baseline: 1 gateway, no Redis', machines: [N], shared: false },
  { label: 'G = 1', machines: [N], shared: true },
  { label: 'G = 3', machines: [5, 10, 25], shared: true },
  { label: 'G = 5', machines: [2, 4, 6, 10, 18], shared: true },
];
const ONLY_G = process.env.SHARED_G === undefined ? undefined : Number(process.env.SHARED_G);
const RUNS = QUICK ? 1 : 3;
const IDEAL_MS = (N * 60_000) / COMPANY;
/** Measured after a warm-up of one and a half rotations, for ROTATIONS rotations. */
const ROTATIONS = QUICK ? 2 : 3;

interface Figures {
  gap: number;
  p50: number;
  p99: number;
  max: number;
  used: number;
  rejected: number;
  off: number;
  load: number;
  /** The worst gap's machine, start (s into the measured window) and the budget events during it. */
  worst: string;
  /** budget.fallback lines of all gateways in the measured window. */
  fallbacks: number;
  /** Per gateway, its requests against its part by machines. */
  parts: string;
}

const BUDGET_EVENTS = new Set(['budget.fallback', 'budget.shared_joined']);

/** How long the MES's count of a machine has lagged: since the first PLC count it does not show yet (0 when current). */
function age(counts: { at: number; count: number }[], shown: number, now: number): number {
  const first = counts.find((c) => c.count > shown);
  return first ? now - first.at : 0;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function measure(machines: number[], shared: boolean): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'sfg-shared-bench-'));
  const closers: Closer[] = [];
  let production: Production | undefined;
  try {
    // Fallback shares by machines, each gateway's whole part (the README advises half; they
    // matter only while a gateway is on its fallback share, counted per run); without Redis
    // the one gateway has the company figure.
    const fallback = shared ? machines.map((n) => Math.max(1, Math.floor((COMPANY * n) / N))) : [COMPANY];
    const fleet: Fleet = await startFleet({
      dir,
      machines,
      fallbackPerMinute: fallback,
      companyPerMinute: COMPANY,
      shared,
      defer: (c) => closers.push(c),
    });
    if (shared) await fleet.waitState('shared');
    for (const g of fleet.gateways) await g.plant.polled();
    // Counts and waste only: run/stop, one per gateway, would weigh on the small gateways' shares.
    production = fleet.produce({ everyMs: 1000, maxRounds: 3600, stops: false });
    const from = Date.now() + 1.5 * IDEAL_MS;
    const until = from + ROTATIONS * IDEAL_MS;
    const codes = fleet.gateways.flatMap((g) => g.plant.machines.map((m) => ({ code: m.code, first: m.firstCount })));
    const ages: number[] = [];
    for (let t = Date.now(); t < until; t = Date.now()) {
      await new Promise((r) => setTimeout(r, 1000));
      if (Date.now() < from) continue;
      for (const { code, first } of codes) ages.push(age(production.counts.get(code)!, fleet.mes.state[code].count ?? first, Date.now()));
    }
    const load = loadavg()[0];
    await production.stop();
    // Every machine counts all the time, so every gap between two deliveries is a machine waiting.
    let gap = 0;
    let worstGap = { code: '', start: 0 };
    for (const { code } of codes) {
      const at = fleet.mes.state[code].counterLog.map((e) => e.at).filter((t) => t >= from && t < until);
      for (let k = 1; k < at.length; k++) {
        if (at[k] - at[k - 1] <= gap) continue;
        gap = at[k] - at[k - 1];
        worstGap = { code, start: at[k - 1] };
      }
    }
    const events = fleet.gateways.flatMap((g) =>
      (g.process?.logs ?? [])
        .filter((l) => BUDGET_EVENTS.has(String(l.event)))
        .map((l) => ({ gateway: g.name, event: String(l.event).replace('budget.', ''), code: l.code, at: Number(l.time) })),
    );
    const during = events
      .filter((e) => e.at >= worstGap.start - 3_000 && e.at <= worstGap.start + gap)
      .map((e) => `${e.gateway} ${e.event}${e.code ? ` ${String(e.code)}` : ''} @${((e.at - from) / 1000).toFixed(0)}`);
    // Inside its gateway (a rotation longer than its machines: ordering) or across (fewer sends of its gateway in that time: shares)?
    const owner = fleet.gateways.find((g) => g.plant.machines.some((m) => m.code === worstGap.code))!;
    const inGap = fleet.requestsOf(owner).filter((r) => r.at > worstGap.start && r.at < worstGap.start + gap).length;
    const allInGap = fleet.mes.requests.filter((r) => r.at > worstGap.start && r.at < worstGap.start + gap).length;
    const worst =
      `${worstGap.code} @${((worstGap.start - from) / 1000).toFixed(0)} s, ${inGap} sends of its gateway's ${owner.plant.machines.length} machines ` +
      `of ${allInGap} in all${during.length > 0 ? ` (${during.join(', ')})` : ''}`;
    const fallbacks = events.filter((e) => e.event === 'fallback' && e.at >= from && e.at < until).length;
    // Each gateway's MES requests in the window against its part by machines (1.00 = fair).
    const measured = fleet.mes.requests.filter((r) => r.at >= from && r.at < until).length;
    const parts = fleet.gateways
      .map(
        (g) => `${g.name} ${(fleet.requestsOf(g).filter((r) => r.at >= from && r.at < until).length / ((measured * g.plant.machines.length) / N)).toFixed(2)}`,
      )
      .join(' ');
    const used = fleet.mes.requests.filter((r) => r.at >= from && r.at < until).length / ((COMPANY * (until - from)) / 60_000);
    const drainUntil = Date.now() + 3 * IDEAL_MS + 30_000;
    while (fleet.differences().length > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 500));
    ages.sort((a, b) => a - b);
    return {
      gap: gap / 1000,
      p50: quantile(ages, 0.5) / 1000,
      p99: quantile(ages, 0.99) / 1000,
      max: (ages.at(-1) ?? 0) / 1000,
      used,
      rejected: fleet.mes.requests.filter((r) => r.status === 429).length,
      off: new Set(fleet.differences().map((d) => d.split(' ')[0])).size,
      load,
      worst,
      fallbacks,
      parts,
    };
  } finally {
    await production?.stop();
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const wall = Date.now();
const ideal = IDEAL_MS / 1000;
console.log(
  `N = ${N} machines, company ${COMPANY}/min, sandbox 120/min; ideal gap N / (rpm/60) = ${ideal.toFixed(1)} s, target ≤ ${(1.2 * ideal).toFixed(1)} s; ` +
    `${RUNS === 1 ? '1 run' : `min / median / max of ${RUNS} runs`}, ${ROTATIONS} rotations measured; real seconds`,
);
const rows: string[][] = [];
const worst: string[] = [];
for (const layout of LAYOUTS.filter((l) => ONLY_G === undefined || !l.shared || l.machines.length === ONLY_G)) {
  const runs: Figures[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await measure(layout.machines, layout.shared));
  for (const [k, r] of runs.entries())
    worst.push(
      `${layout.label}, run ${k + 1}: ${(r.gap / ideal).toFixed(2)} × by ${r.worst}; fallbacks in the window: ${r.fallbacks}; requests / part by machines: ${r.parts}; load ${r.load.toFixed(2)}`,
    );
  const of = (pick: (r: Figures) => number, digits = 1) => spread(runs.map(pick), digits);
  rows.push([
    `${layout.label} (${layout.machines.join('+')})`,
    of((r) => r.gap),
    of((r) => r.gap / ideal, 2),
    of((r) => r.p50),
    of((r) => r.p99),
    of((r) => r.max),
    of((r) => 100 * r.used, 0),
    of((r) => r.rejected, 0),
    of((r) => r.off, 0),
    of((r) => r.load, 2),
  ]);
}
table(
  ['gateways (machines)', 'max gap s', 'gap / ideal', 'age p50 s', 'age p99 s', 'age max s', 'company budget used %', '429s', 'machines off', 'load avg'],
  rows,
);
console.log('worst gap per run: machine @ its start, s into the measured window (budget events of any gateway from 3 s before it to its end)');
for (const w of worst) console.log(`  ${w}`);
console.log('company budget used: MES requests (all gateways) over 115/min in the measured window');
console.log('machines off: machines whose MES count or waste differs from the PLC after the drain (0 = every final total exact)');
console.log(`wall time ${((Date.now() - wall) / 1000).toFixed(0)} s`);
