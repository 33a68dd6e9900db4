/**
 * A real redis-server (Debian's) for tests, on a free loopback port in its own temp dir, with
 * nothing written to disk (`--save "" --appendonly no`), so restart() brings it back empty on
 * the same port, as a crashed Redis without persistence comes back. Optional `requirepass`,
 * optional TLS only (no plain-text port, as the README's redis.conf), `url` then `rediss://`.
 * Call `defer(redis.cleanup)` (test/helpers/cleanup.ts) right after starting it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from '../../src/sim/free-port.js';
import type { TestPki } from './mosquitto-tls.js';
import { ownedTempDir } from './tmp.js';

export interface RedisServerOptions {
  /** Clients must AUTH with this password (`--requirepass`). */
  password?: string;
  /** TLS on the port with this server certificate; clients are not asked for one. */
  tls?: TestPki;
}

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>`, with the password in it when one is set. */
  url: string;
  dir: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, no goodbye to the clients. */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same port, empty; resolves once it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the socket stays open but nothing answers (a hung or partitioned Redis). */
  freeze(): void;
  thaw(): void;
  cleanup(): Promise<void>;
}

/** Kills servers a crashed test file left behind, so no stray redis-server outlives the run. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const { path: dir, remove } = ownedTempDir('redis-test-');
  const port = await freePort();
  const { tls } = options;
  const ports = tls ? ['--port', '0', '--tls-port', String(port), ...tlsFiles(tls)] : ['--port', String(port)];
  const args = [...ports, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const probe: Probe = tls
    ? { connect: () => tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(tls.cafile) }), ready: 'secureConnect' }
    : { connect: () => tcpConnect(port, '127.0.0.1'), ready: 'connect' };

  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    c.once('exit', () => live.delete(c));
    await waitPong(port, probe, () => (c.exitCode !== null || c.signalCode !== null ? `redis-server exited: ${output}` : undefined));
  };
  const end = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      // A frozen server takes SIGTERM only once continued; SIGKILL ends it as it is, mid-command.
      if (signal === 'SIGTERM') c.kill('SIGCONT');
      c.kill(signal);
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  await start();
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    dir,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGTERM');
      await start();
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async cleanup() {
      await end('SIGTERM');
      remove();
    },
  };
}

/** Sends a bare PING until the server answers (+PONG, or -NOAUTH when a password is set). */
/** No client certificates: the password authenticates, as in the README's redis.conf. */
function tlsFiles(pki: TestPki): string[] {
  return ['--tls-cert-file', pki.certfile, '--tls-key-file', pki.keyfile, '--tls-ca-cert-file', pki.cafile, '--tls-auth-clients', 'no'];
}

/** How to reach the server, and the socket's event once a PING may be written. */
interface Probe {
  connect(): Socket;
  ready: 'connect' | 'secureConnect';
}

async function waitPong(port: number, probe: Probe, failed: () => string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = probe.connect();
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(500, () => done(false));
      s.once(probe.ready, () => s.write('PING\r\n'));
      s.once('data', (d: Buffer) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
      s.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
}
