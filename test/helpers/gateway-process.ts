/**
 * The real gateway as a child process (`bin/shopfloor-gateway.js run`), with its JSON log
 * lines collected so tests can wait for what it says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startGateway(configFile: string, env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(process.execPath, [bin, 'run', '--config', configFile], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const watchers = new Set<(line: Record<string, unknown>) => void>();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    for (const w of watchers) w(line);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    logs,
    waitForLog(match, timeoutMs = 20_000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(w);
          reject(new Error(`gateway never logged what was awaited; stderr: ${stderr}\nlast logs: ${JSON.stringify(logs.slice(-8))}`));
        }, timeoutMs);
        const w = (line: Record<string, unknown>) => {
          if (!match(line)) return;
          clearTimeout(timer);
          watchers.delete(w);
          resolve(line);
        };
        watchers.add(w);
        child.once('exit', (code) => {
          if (!watchers.has(w)) return;
          clearTimeout(timer);
          watchers.delete(w);
          reject(new Error(`gateway exited (${code}) before logging what was awaited; stderr: ${stderr}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The status page's base URL, once the gateway said where it listens. */
export async function statusUrl(gw: GatewayProcess): Promise<string> {
  return String((await gw.waitForLog((l) => l.event === 'web.listening')).url).replace(/\/$/, '');
}
