/**
 * Footprint of the gateway's node process alone at 1 s polling against simulated PLCs in
 * another process (bench/plant.ts): RSS and CPU % of one core every 10 s, and at start / 1 /
 * 10 / 30 min (BENCH_QUICK=1: start / 1 / 3 min) the heap after a forced full GC (live objects)
 * beside the heap V8 keeps, at 5 × 20 and 50 × 20 signals, both plants side by side; RSS also
 * split into anonymous memory (the process's own: heap, malloc) and file-backed pages (the node
 * binary's code, shared). The gateway runs the compiled dist/ with the environment and node
 * flags of `npm start` (the systemd unit's too); the GC is forced through
 * its inspector (enabled only here), so the gateway loads nothing for the measurement (no
 * /metrics scrape, which would load prom-client). Baseline, same run: an idle node process
 * with the same environment and flags; the gateway's RSS is shown as a ratio of it.
 * FOOTPRINT_BASELINE=<another checkout, built>[,<another>...] runs those checkouts' plants (each
 * its own simulators and its gateway with its own `npm start` flags) beside this one's, for a
 * before/after in one run.
 * Run: npm run bench -- footprint
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/sim/free-port.js';
import { cpuMs, type Plant, rssMb, rssParts, spread, startCommand, startPlant } from './plant.js';

const quick = process.env.BENCH_QUICK === '1';
const CHECKPOINTS_MIN = quick ? [0, 1, 3] : [0, 1, 10, 30];
const SAMPLE_MS = 10_000;
const MB = 2 ** 20;

interface Sample {
  atMin: number;
  rss: number;
  cpuPct: number;
}

interface Checkpoint {
  atMin: number;
  rss: number;
  anon: number;
  file: number;
  /** After the forced GC: what is alive, and what V8 keeps for the heap. */
  heapUsed: number;
  heapTotal: number;
  /** Of heapUsed: V8's code and trusted spaces (machine code, bytecode and their metadata). */
  compiled: number;
  rssAfterGc: number;
}

/** Forces a full GC in the gateway through its inspector, then reads its memory. */
async function afterGc(url: string): Promise<{ heapUsed: number; heapTotal: number; compiled: number; rss: number }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    // The console's require (includeCommandLineAPI): node:v8 is loaded for the measurement only.
    const expression =
      "JSON.stringify({ ...process.memoryUsage(), compiled: require('node:v8').getHeapSpaceStatistics().filter((s) => /^(code|trusted)/.test(s.space_name)).reduce((n, s) => n + s.space_used_size, 0) })";
    const r = (await call('Runtime.evaluate', { expression, returnByValue: true, includeCommandLineAPI: true })) as { result: { value: string } };
    const m = JSON.parse(r.result.value) as { heapUsed: number; heapTotal: number; rss: number; compiled: number };
    return { heapUsed: m.heapUsed / MB, heapTotal: m.heapTotal / MB, compiled: m.compiled / MB, rss: m.rss / MB };
  } finally {
    ws.close();
  }
}

async function baselineRss(root: string): Promise<number> {
  const { env, flags } = startCommand(root);
  const idle = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env: { ...process.env, ...env } });
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssMb(idle.pid!);
  idle.kill();
  return rss;
}

async function watch(root: string, devices: number, plant: Plant): Promise<{ samples: Sample[]; checkpoints: Checkpoint[] }> {
  const samples: Sample[] = [];
  const checkpoints: Checkpoint[] = [];
  try {
    const start = Date.now();
    let lastCpu = cpuMs(plant.pid);
    let lastAt = start;
    const endMs = CHECKPOINTS_MIN.at(-1)! * 60_000;
    for (let i = 0; i <= endMs / SAMPLE_MS; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, start + i * SAMPLE_MS - Date.now()));
      const now = Date.now();
      const cpu = cpuMs(plant.pid);
      const s = { atMin: (now - start) / 60_000, rss: rssMb(plant.pid), cpuPct: i === 0 ? NaN : ((cpu - lastCpu) / (now - lastAt)) * 100 };
      samples.push(s);
      // The GC's own CPU is left out of the next sample's share.
      if (CHECKPOINTS_MIN.some((min) => Math.abs(min * 60_000 - i * SAMPLE_MS) < SAMPLE_MS / 2)) {
        const { anon, file } = rssParts(plant.pid);
        const gc = await afterGc(plant.inspectorUrl!);
        checkpoints.push({ atMin: s.atMin, rss: s.rss, anon, file, heapUsed: gc.heapUsed, heapTotal: gc.heapTotal, compiled: gc.compiled, rssAfterGc: gc.rss });
        // As it comes, so a long run that is cut short still tells what it saw.
        console.log(
          `${root}: ${devices * 20} signals at ${s.atMin.toFixed(1)} min: RSS ${s.rss.toFixed(1)} MB, after GC heapUsed ${gc.heapUsed.toFixed(1)} MB (code and trusted spaces ${gc.compiled.toFixed(1)})`,
        );
      }
      lastCpu = cpuMs(plant.pid);
      lastAt = Date.now();
    }
  } finally {
    await plant.stop();
  }
  return { samples, checkpoints };
}

const root = fileURLToPath(new URL('../', import.meta.url));
// What production runs is dist/: build it from the sources of this checkout first.
if (spawnSync(process.execPath, [join(root, 'scripts/build.js')], { stdio: 'inherit' }).status !== 0) process.exit(1);
const checkouts = [root, ...(process.env.FOOTPRINT_BASELINE?.split(',').filter(Boolean) ?? [])];
const bases = new Map<string, number>();
for (const checkout of checkouts) bases.set(checkout, await baselineRss(checkout));
// Started one after the other (each picks its free ports, which another starting at the same
// time could take), then all watched at once, so a busy moment on the shared machine falls on
// each alike.
const plants: { checkout: string; devices: number; plant: Plant }[] = [];
for (const checkout of checkouts) {
  for (const devices of [5, 50]) plants.push({ checkout, devices, plant: await startPlant(devices, { root: checkout, inspectorPort: await freePort() }) });
}
const watched = await Promise.all(plants.map(async ({ checkout, devices, plant }) => ({ checkout, devices, ...(await watch(checkout, devices, plant)) })));
const measured = checkouts.map((checkout) => ({ checkout, base: bases.get(checkout)!, runs: watched.filter((w) => w.checkout === checkout) }));
for (const { checkout, base, runs } of measured) {
  const start = startCommand(checkout);
  const command = [...Object.entries(start.env).map(([k, v]) => `${k}=${v}`), 'node', ...start.flags].join(' ');
  console.log(
    `\n${checkout}\nbaseline: idle ${command}, RSS ${base.toFixed(1)} MB; gateway: compiled dist/ as npm start runs it (${command} bin/shopfloor-gateway.js run)`,
  );
  report(base, runs);
}

function report(base: number, runs: { devices: number; samples: Sample[]; checkpoints: Checkpoint[] }[]): void {
  console.log('signals | at min | RSS MB | × baseline | anon MB | file MB | after GC: heapUsed MB | of it code MB | heapTotal MB | RSS MB | CPU % (last 10 s)');
  for (const { devices, samples, checkpoints } of runs) {
    for (const c of checkpoints) {
      const cpu = samples.find((s) => s.atMin === c.atMin)?.cpuPct ?? NaN;
      console.log(
        `${String(devices * 20).padStart(7)} | ${c.atMin.toFixed(1).padStart(6)} | ${c.rss.toFixed(1).padStart(6)} | ${(c.rss / base).toFixed(2).padStart(10)} | ` +
          `${c.anon.toFixed(1).padStart(7)} | ${c.file.toFixed(1).padStart(7)} | ` +
          `${c.heapUsed.toFixed(1).padStart(21)} | ${c.compiled.toFixed(1).padStart(13)} | ${c.heapTotal.toFixed(1).padStart(12)} | ${c.rssAfterGc.toFixed(1).padStart(6)} | ${Number.isNaN(cpu) ? '-' : cpu.toFixed(1)}`,
      );
    }
    const cpu = samples.map((s) => s.cpuPct).filter((c) => !Number.isNaN(c));
    console.log(
      `${String(devices * 20).padStart(7)} | min / median / max over the run (10 s samples): RSS ${spread(samples.map((s) => s.rss))} MB, ` +
        `RSS after 1 min ${spread(samples.filter((s) => s.atMin >= 1).map((s) => s.rss))} MB, CPU ${spread(cpu)} %`,
    );
  }
}
