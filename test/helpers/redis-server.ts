/**
 * A real redis-server (Debian's) for tests, on a free loopback port in its own temp dir, with
 * nothing written to disk (`--save "" --appendonly no`), so restart() brings it back empty on
 * the same port, as a crashed Redis without persistence comes back. Optional `requirepass`.
 * Call `defer(redis.cleanup)` (test/helpers/cleanup.ts) right after starting it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { freePort } from '../../src/sim/free-port.js';
import { ownedTempDir } from './tmp.js';

export interface RedisServerOptions {
  /** Clients must AUTH with this password (`--requirepass`). */
  password?: string;
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
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (options.password !== undefined) args.push('--requirepass', options.password);

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
    await waitPong(port, () => (c.exitCode !== null || c.signalCode !== null ? `redis-server exited: ${output}` : undefined));
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
    url: `redis://${auth}127.0.0.1:${port}`,
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
async function waitPong(port: number, failed: () => string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(500, () => done(false));
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d: Buffer) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
      s.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
}
