/**
 * Debian's pymodbus as a Modbus slave for tests (test/fixtures/pymodbus_server.py), with
 * `set` commands over stdin. A server not written by us is the honest peer.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/pymodbus_server.py', import.meta.url));

export interface Pymodbus {
  port: number;
  /** Sets values and waits for the server to confirm. */
  set(area: 'holding' | 'input' | 'coil' | 'discrete', address: number, ...values: number[]): Promise<void>;
  /** Read requests seen so far (`REQ` lines). */
  requests: string[];
  close(): Promise<void>;
}

export async function startPymodbus(args: string[] = []): Promise<Pymodbus> {
  const child: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', [script, '--port', '0', ...args], { stdio: 'pipe' });
  const requests: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pymodbus did not start: ${stderr}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`pymodbus exited ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(Number(line.split(' ')[1]));
      } else if (line.startsWith('REQ ')) requests.push(line);
      else if (line === 'OK' || line.startsWith('ERR')) waiting.shift()?.(line);
    });
  });
  return {
    port,
    requests,
    async set(area, address, ...values) {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin.write(`set ${area} ${address} ${values.join(' ')}\n`);
      const line = await answer;
      if (line !== 'OK') throw new Error(line);
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
