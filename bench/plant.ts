/**
 * A simulated plant for the process benchmarks (not a benchmark itself: run.ts starts only
 * *.bench.ts): `devices` Modbus TCP PLCs of 20 signals each (4 machines × count, waste,
 * running and two parameters), served by the `simulate` verb in its own process, and the
 * gateway's `run` in another, polling every second. The gateway runs as `npm start` runs it
 * (compiled dist/ through bin/shopfloor-gateway.js, with the environment and node flags of the
 * start script); its pid is that node process alone, not npm, not the simulators.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../src/sim/free-port.js';

export interface Plant {
  pid: number;
  /** The gateway's inspector (`ws://...`), when `startPlant` was given an inspector port. */
  inspectorUrl?: string;
  webUrl: string;
  dbPath: string;
  stop(): Promise<void>;
}

const MACHINES_PER_DEVICE = 4;

function deviceYaml(id: number, port: number): string {
  const machines = Array.from(
    { length: MACHINES_PER_DEVICE },
    (_, m) => `  - code: D${id}M${m}
    count: { area: holding, address: ${m * 10}, type: uint32 }
    waste: [{ code: W1, source: { area: holding, address: ${m * 10 + 2} } }]
    running: { area: coil, address: ${m} }
    downtimeType: Unplanned
    parameters:
      - { code: temp, source: { area: input, address: ${m * 2} }, deadband: 0.5 }
      - { code: speed, source: { area: input, address: ${m * 2 + 1} }, deadband: 0.5 }`,
  );
  return `device: plc${id}\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${port} }\npollIntervalMs: 1000\nmachines:\n${machines.join('\n')}\n`;
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${ms} ms:\n${seen.slice(-2000)}`)), ms);
    const on = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', on);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}):\n${seen.slice(-2000)}`)));
  });
}

const here = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * How `npm start` runs the gateway (`[VAR=value ...] node <flags> bin/shopfloor-gateway.js run`;
 * the systemd unit has the same environment and flags, test/integration/web-systemd.test.ts),
 * so the bench measures what production runs.
 */
export function startCommand(root = here): { env: Record<string, string>; flags: string[] } {
  const start: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const m = /^((?:\w+=\S+ )*)node((?: --\S+)*) bin\/shopfloor-gateway\.js run$/.exec(start);
  if (!m) throw new Error(`package.json start script not understood: ${start}`);
  const env = Object.fromEntries(
    m[1]
      .split(' ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { env, flags: m[2].split(' ').filter(Boolean) };
}

const cli = (root: string, args: string[], stdout: 'pipe' | 'ignore', command = { env: {}, flags: [] as string[] }) =>
  spawn(process.execPath, [...command.flags, join(root, 'bin', 'shopfloor-gateway.js'), ...args], {
    stdio: ['ignore', stdout, 'inherit'],
    env: { ...process.env, ...command.env },
  });

/**
 * `inspectorPort`: the gateway also listens for the inspector there (idle until a session
 * attaches). `root`: the checkout (built) whose simulators and gateway run, with its own
 * `npm start` flags; this one by default.
 */
export async function startPlant(devices: number, options: { inspectorPort?: number; root?: string } = {}): Promise<Plant> {
  const root = options.root ?? here;
  const dir = mkdtempSync(join(tmpdir(), 'sfg-plant-'));
  const [mesPort, webPort, ...plcPorts] = await freePorts(devices + 2);
  const inspect = options.inspectorPort === undefined ? [] : [`--inspect=127.0.0.1:${options.inspectorPort}`];
  mkdirSync(join(dir, 'devices'));
  for (const [i, port] of plcPorts.entries()) writeFileSync(join(dir, 'devices', `plc${i}.yaml`), deviceYaml(i, port));
  const dbPath = join(dir, 'gateway.db');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `prodsmart:\n  baseUrl: http://127.0.0.1:${mesPort}\n  auth: { apiKey: demo, apiSecret: demo-secret }\n  requestsPerMinute: 100\n` +
      `storage:\n  path: ${dbPath}\nweb:\n  listen: 127.0.0.1:${webPort}\ndevices: ${join(dir, 'devices')}\nlog:\n  level: info\n`,
  );
  const sims = cli(root, ['simulate', '--config', config, '--mes-listen', `127.0.0.1:${mesPort}`], 'pipe');
  // A benchmark that dies leaves no simulator or gateway behind.
  const children: ChildProcess[] = [sims];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null) c.kill();
  };
  process.once('exit', killAll);
  const webUrl = `http://127.0.0.1:${webPort}`;
  try {
    await waitForLine(sims, /simulators running/, 'simulate');
    const start = startCommand(root);
    // Its own compile cache, as the unit's CacheDirectory= gives it: in the shared default
    // folder the simulators' process, which runs the same bundle and exits last, can leave the
    // code the gateway then loads at start (some runs: heap after GC 20.6 instead of 15.6 MB).
    const env = { CACHE_DIRECTORY: join(dir, 'compile-cache'), ...start.env };
    const gateway = cli(root, ['run', '--config', config], 'ignore', { env, flags: [...start.flags, ...inspect] });
    children.push(gateway);
    for (
      let i = 0;
      i < 600 &&
      !(await fetch(`${webUrl}/healthz`).then(
        () => true,
        () => false,
      ));
      i++
    ) {
      if (gateway.exitCode !== null) throw new Error(`gateway exited (${gateway.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const [, gateway] = children;
  const stopOne = (c: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  let inspectorUrl: string | undefined;
  if (options.inspectorPort !== undefined) {
    const [target] = (await (await fetch(`http://127.0.0.1:${options.inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    inspectorUrl = target.webSocketDebuggerUrl;
  }
  return {
    pid: gateway.pid!,
    inspectorUrl,
    webUrl,
    dbPath,
    async stop() {
      await stopOne(gateway);
      await stopOne(sims);
      process.off('exit', killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  return rssParts(pid).rss;
}

/**
 * RSS and its two parts, in MB: anonymous (heap, malloc, stacks: the process's own) and
 * file-backed (mostly the node binary's code pages, shared with every node process and
 * dropped by the kernel under pressure).
 */
export function rssParts(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU time (user + system) a process used so far, in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the ") " split.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** min / median / max of some numbers, formatted. */
export function spread(xs: number[], digits = 1): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(digits);
  return `${f(s[0])} / ${f(s[Math.floor(s.length / 2)])} / ${f(s[s.length - 1])}`;
}

/** Prints a Markdown table, each column as wide as its widest cell, for the README. */
export function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
