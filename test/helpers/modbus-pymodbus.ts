/** Runs test/fixtures/pymodbus_server.py (Debian's pymodbus, hence /usr/bin/python3). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/pymodbus_server.py', import.meta.url));

export interface PymodbusOptions {
  port?: number;
  framer?: 'socket' | 'rtu';
  serial?: string;
  units?: number[];
  size?: number;
  holes?: string[];
}

export interface RequestLog {
  unit: number;
  area: string;
  address: number;
  count: number;
  ok: boolean;
}

export interface Pymodbus {
  port: number;
  /** Every read request the slave received, in order. */
  requests: RequestLog[];
  /** `set <area> <address> <values...>`; resolves when applied. */
  set(area: string, address: number, ...values: number[]): Promise<void>;
  kill(): Promise<void>;
}

export async function startPymodbus(opts: PymodbusOptions = {}): Promise<Pymodbus> {
  const args = [SCRIPT, '--port', String(opts.port ?? 0), '--framer', opts.framer ?? 'socket'];
  if (opts.serial) args.push('--serial', opts.serial);
  if (opts.units) args.push('--units', opts.units.join(','));
  if (opts.size) args.push('--size', String(opts.size));
  for (const h of opts.holes ?? []) args.push('--hole', h);
  const proc: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', args, { stdio: 'pipe' });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));

  const requests: RequestLog[] = [];
  const acks: (() => void)[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const [word, ...rest] = line.split(' ');
      if (word === 'READY') resolve(Number(rest[0]));
      else if (word === 'OK') acks.shift()?.();
      else if (word === 'REQ') {
        const [unit, area, address, count, ok] = rest;
        requests.push({ unit: Number(unit), area, address: Number(address), count: Number(count), ok: ok === 'ok' });
      }
    });
    void exited.then(() => reject(new Error(`pymodbus server exited before READY:\n${stderr}`)));
  });

  return {
    port,
    requests,
    set: (area, address, ...values) =>
      new Promise<void>((resolve) => {
        acks.push(resolve);
        proc.stdin.write(`set ${area} ${address} ${values.join(' ')}\n`);
      }),
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
