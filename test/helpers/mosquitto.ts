/**
 * A real mosquitto broker for tests, on free loopback ports, from a generated config:
 * plain listener always, TLS and websockets listeners on request, users via mosquitto_passwd.
 * restart() reuses the same ports so clients reconnect to the same URL. Without
 * `persistence` a restart forgets everything (retained messages, sessions and their
 * queues), as mosquitto does by default; with it, they are saved at stop and read at start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { freePorts } from '../../src/sim/free-port.js';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ownedTempDir } from './tmp.js';

export interface MosquittoOptions {
  tls?: { cafile: string; certfile: string; keyfile: string };
  websockets?: boolean;
  /** username → password; anonymous clients are then refused. Needs mosquitto_passwd. */
  users?: Record<string, string>;
  /** Keep retained messages and persistent sessions across restart() (a file in `dir`). */
  persistence?: boolean;
}

export interface Mosquitto {
  url: string;
  tlsUrl?: string;
  wsUrl?: string;
  dir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export function hasMosquittoPasswd(): boolean {
  return spawnSync('sh', ['-c', 'command -v mosquitto_passwd'], { stdio: 'ignore' }).status === 0;
}

/** Kills brokers a crashed test file left behind, so no stray mosquitto outlives the run. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const { path: dir, remove } = ownedTempDir('mosquitto-test-');
  const [port, tlsPort, wsPort] = await freePorts(3);
  // As root, mosquitto would drop to user "mosquitto", who cannot read this private temp dir.
  const lines = [`user ${userInfo().username}`, 'log_dest stderr', 'log_type error', 'log_type warning'];
  // persistence_location must end with a slash.
  lines.push(...(options.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']));
  if (options.users) {
    const passwd = join(dir, 'passwd');
    Object.entries(options.users).forEach(([user, password], i) => {
      const r = spawnSync('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, user, password], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.error?.message ?? r.stderr}`);
    });
    lines.push(`password_file ${passwd}`, 'allow_anonymous false');
  } else {
    lines.push('allow_anonymous true');
  }
  lines.push(`listener ${port} 127.0.0.1`);
  if (options.tls) {
    const t = options.tls;
    lines.push(`listener ${tlsPort} 127.0.0.1`, `cafile ${t.cafile}`, `certfile ${t.certfile}`, `keyfile ${t.keyfile}`);
  }
  if (options.websockets) lines.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const ports = [port, ...(options.tls ? [tlsPort] : []), ...(options.websockets ? [wsPort] : [])];

  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    live.add(c);
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('exit', () => live.delete(c));
    for (const p of ports) {
      await waitListening(p, () => (c.exitCode !== null || c.signalCode !== null ? `mosquitto exited: ${stderr}` : undefined));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    tlsUrl: options.tls ? `mqtts://127.0.0.1:${tlsPort}` : undefined,
    wsUrl: options.websockets ? `ws://127.0.0.1:${wsPort}` : undefined,
    dir,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async cleanup() {
      await stop();
      remove();
    },
  };
}

async function waitListening(port: number, failed: () => string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on port ${port} within 10 s`);
}
