/**
 * Start-up (issue 9 item 7): from spawning `bin/shopfloor-gateway.js run` on the demo
 * configuration (config/gateway.yaml, devices/*.yaml, its simulators; fresh ports and a
 * fresh database each run) to the status page listening and to the first counter the MES
 * sandbox accepted. Beside it in the same run: `node -e 0` (the floor), and the same
 * gateway through tsx (how it ran before dist/). Run: npm run bench -- startup
 * STARTUP_BASELINE=<another checkout, built> adds that checkout's gateway on its own demo,
 * for a before/after in one run. Targets: < 250 ms to listening, < 1 s to the first counter.
 * The compiled gateways run with `npm start`'s environment and node flags. Beside the wall
 * times, the CPU the gateway had used when this process read its listening line (/proc, 10 ms
 * ticks; a little of what follows the line may be in it): on a busy machine the wall time
 * mostly measures the others, the CPU time much less so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../src/sim/free-port.js';
import { cpuMs, startCommand } from './plant.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const runs = process.env.BENCH_QUICK ? 2 : 5;
const GIVE_UP_MS = 60_000;

interface Times {
  listening: number;
  firstCounter: number;
  listeningCpu: number;
}

/** The demo of checkout `root` in a folder of its own, on free ports, with an empty data folder. */
async function demoCopy(root: string): Promise<{ dir: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sfg-startup-'));
  const [mes, web, press, packer] = await freePorts(4);
  const ports = (text: string) =>
    text
      .replaceAll('127.0.0.1:8090', `127.0.0.1:${mes}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${web}`)
      .replace('port: 15020', `port: ${press}`)
      .replace('port: 15021', `port: ${packer}`);
  cpSync(join(root, 'devices'), join(dir, 'devices'), { recursive: true });
  for (const file of readdirSync(join(dir, 'devices')).filter((f) => f.endsWith('.yaml'))) {
    const path = join(dir, 'devices', file);
    writeFileSync(path, ports(readFileSync(path, 'utf8')));
  }
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, ports(readFileSync(join(root, 'config/gateway.yaml'), 'utf8')));
  return { dir, config };
}

/** One start: milliseconds from spawn to each log line, then SIGTERM and wait for the exit. */
async function startOnce({ root, args, env }: Variant): Promise<Times> {
  const { dir, config } = await demoCopy(root);
  // Times are the log lines' own (pino's `time`, when the line was made), not when this
  // process read them: on a busy machine the reader falls behind the gateway by 100s of ms.
  const t0 = Date.now();
  const child = spawn(process.execPath, args(config), { cwd: dir, env: { ...process.env, ...env, CI: 'true' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    return await new Promise<Times>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no counter delivered within ${GIVE_UP_MS} ms`)), GIVE_UP_MS);
      let listening: number | undefined;
      let listeningCpu = 0;
      createInterface({ input: child.stdout! }).on('line', (text) => {
        const line = JSON.parse(text) as { time: number; event?: string; kind?: string };
        const at = line.time - t0;
        if (line.event === 'web.listening' && listening === undefined) {
          listening = at;
          listeningCpu = cpuMs(child.pid!);
        }
        if (line.event === 'mes.delivered' && line.kind === 'counter' && listening !== undefined) {
          clearTimeout(timer);
          resolve({ listening, firstCounter: at, listeningCpu });
        }
      });
      child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before delivering a counter`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeNothing(): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t0;
}

const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0], s[Math.floor(s.length / 2)], s[s.length - 1]].map((x) => x.toFixed(0).padStart(5)).join(' /');
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// What production runs is dist/: build it from the sources of this checkout first.
const built = spawnSync(process.execPath, [join(root, 'scripts/build.js')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(1);

/** A gateway to start: the checkout whose demo it runs, its command line and environment. */
interface Variant {
  root: string;
  args: (config: string) => string[];
  env: Record<string, string>;
}
const start = startCommand();
const compiled = (checkout: string): Variant => ({
  root: checkout,
  args: (config) => [...start.flags, join(checkout, 'bin/shopfloor-gateway.js'), 'run', '--config', config],
  env: start.env,
});
const variants: Record<string, Variant> = {
  'gateway (dist/, as npm start runs it)': compiled(root),
  'gateway through tsx (before dist/)': {
    root,
    env: {},
    args: (config) => [
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(join(root, 'src/cli/main.ts'))}); process.exitCode = await main(['run', '--config', ${JSON.stringify(config)}]);`,
    ],
  },
};
const baseline = process.env.STARTUP_BASELINE;
if (baseline) variants[`baseline: ${baseline}`.slice(0, 40)] = compiled(baseline);
const floor: number[] = [];
const results: Record<string, Times[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
let failed = 0;
// Interleaved, so a busy moment on the machine falls on every variant alike.
for (let i = 0; i < runs; i++) {
  floor.push(nodeNothing());
  for (const [name, variant] of Object.entries(variants)) {
    // A start that failed is reported, not timed: the table still comes out.
    const times = await startOnce(variant).catch((err: unknown) => {
      failed++;
      console.error(`${name}: ${String(err)}`);
    });
    if (times) results[name].push(times);
  }
}

const base = median(floor);
console.log(`start-up on the demo, ${runs} runs each, ms min / median / max (Node ${process.version})`);
console.log(`${'what'.padEnd(40)} ${'to listening'.padEnd(20)} ${'to first counter'.padEnd(20)} ${'CPU to listening'.padEnd(20)} listening ÷ node -e 0`);
console.log(`${'node -e 0'.padEnd(40)} ${fmt(floor).padEnd(20)} ${''.padEnd(20)} ${''.padEnd(20)} 1.0`);
for (const [name, times] of Object.entries(results)) {
  if (times.length === 0) continue;
  const listening = times.map((t) => t.listening);
  const cpu = fmt(times.map((t) => t.listeningCpu)).padEnd(20);
  console.log(
    `${name.padEnd(40)} ${fmt(listening).padEnd(20)} ${fmt(times.map((t) => t.firstCounter)).padEnd(20)} ${cpu} ${(median(listening) / base).toFixed(1)}`,
  );
}
if (failed > 0) console.log(`${failed} start(s) failed, left out above`);
