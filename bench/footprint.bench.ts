/**
 * Footprint of the gateway's node process alone at 1 s polling against simulated PLCs in
 * another process (bench/plant.ts): RSS, heap used/total and CPU % of one core, at 5 × 20 and
 * 50 × 20 signals, at start / 1 / 10 / 30 min (BENCH_QUICK=1: start / 1 / 3 min). Both plants
 * run side by side. Baseline, same run: an idle `node --import tsx` process (what the tsx
 * loader alone costs) — the gateway's RSS is shown as a ratio of it.
 * Run: npm run bench -- footprint
 */
import { spawn } from 'node:child_process';
import { cpuMs, rssMb, spread, startPlant, type Plant } from './plant.js';

const quick = process.env.BENCH_QUICK === '1';
const CHECKPOINTS_MIN = quick ? [0, 1, 3] : [0, 1, 10, 30];
const SAMPLE_MS = 10_000;

interface Sample {
  atMin: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  cpuPct: number;
}

async function heap(plant: Plant): Promise<{ used: number; total: number }> {
  const text = await (await fetch(`${plant.webUrl}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { used: metric('nodejs_heap_size_used_bytes'), total: metric('nodejs_heap_size_total_bytes') };
}

async function baselineRss(): Promise<number> {
  const idle = spawn(process.execPath, ['--import', 'tsx', '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssMb(idle.pid!);
  idle.kill();
  return rss;
}

async function watch(devices: number): Promise<Sample[]> {
  const plant = await startPlant(devices);
  const samples: Sample[] = [];
  try {
    const start = Date.now();
    let lastCpu = cpuMs(plant.pid);
    let lastAt = start;
    const endMs = CHECKPOINTS_MIN.at(-1)! * 60_000;
    for (let i = 0; i <= endMs / SAMPLE_MS; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, start + i * SAMPLE_MS - Date.now()));
      const now = Date.now();
      const cpu = cpuMs(plant.pid);
      const h = await heap(plant);
      samples.push({
        atMin: (now - start) / 60_000,
        rss: rssMb(plant.pid),
        heapUsed: h.used,
        heapTotal: h.total,
        cpuPct: i === 0 ? NaN : ((cpu - lastCpu) / (now - lastAt)) * 100,
      });
      lastCpu = cpu;
      lastAt = now;
    }
  } finally {
    await plant.stop();
  }
  return samples;
}

const base = await baselineRss();
const runs = await Promise.all([5, 50].map(async (devices) => ({ devices, samples: await watch(devices) })));
console.log(`baseline: idle node --import tsx, RSS ${base.toFixed(1)} MB (the gateway runs through tsx here; see README)`);
console.log('signals | at min | RSS MB | × baseline | heapUsed MB | heapTotal MB | CPU % (last 10 s)');
for (const { devices, samples } of runs) {
  for (const min of CHECKPOINTS_MIN) {
    const s = samples.reduce((a, b) => (Math.abs(b.atMin - min) < Math.abs(a.atMin - min) ? b : a));
    console.log(
      `${String(devices * 20).padStart(7)} | ${s.atMin.toFixed(1).padStart(6)} | ${s.rss.toFixed(1).padStart(6)} | ${(s.rss / base).toFixed(2).padStart(10)} | ` +
        `${s.heapUsed.toFixed(1).padStart(11)} | ${s.heapTotal.toFixed(1).padStart(12)} | ${Number.isNaN(s.cpuPct) ? '-' : s.cpuPct.toFixed(1)}`,
    );
  }
  const cpu = samples.map((s) => s.cpuPct).filter((c) => !Number.isNaN(c));
  const later = samples.filter((s) => s.atMin >= 1);
  console.log(
    `${String(devices * 20).padStart(7)} | min / median / max over the run: RSS ${spread(samples.map((s) => s.rss))} MB, ` +
      `heapTotal after 1 min ${spread(later.map((s) => s.heapTotal))} MB, CPU ${spread(cpu)} %`,
  );
}
