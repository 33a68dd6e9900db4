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
  /** Values at power-on, `area:address` → words or bits, so a restarted PLC never shows zeros first. */
  initial?: Record<string, number[]>;
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
  /** The function code of every request the slave answered, writes included, in order. */
  functionCodes: number[];
  /** `set <area> <address> <values...>`; resolves when applied. */
  set(area: string, address: number, ...values: number[]): Promise<void>;
  /** The next `n` reads are answered with Modbus exception `code` (e.g. 4 device failure, 6 busy). */
  fail(code: number, n: number): Promise<void>;
  /** The next `n` reads get no answer: the client times out. */
  mute(n: number): Promise<void>;
  /** The next read covering `address` shows `values` instead of memory; resolves once that read was answered. */
  glitch(area: string, address: number, ...values: number[]): Promise<void>;
  /** Writes `values` once the next read covering `address` was served (the second half of a torn write). */
  afterRead(area: string, address: number, ...values: number[]): Promise<void>;
  kill(): Promise<void>;
}

export async function startPymodbus(opts: PymodbusOptions = {}): Promise<Pymodbus> {
  const args = [SCRIPT, '--port', String(opts.port ?? 0), '--framer', opts.framer ?? 'socket'];
  if (opts.serial) args.push('--serial', opts.serial);
  if (opts.units) args.push('--units', opts.units.join(','));
  if (opts.size) args.push('--size', String(opts.size));
  for (const h of opts.holes ?? []) args.push('--hole', h);
  for (const [at, values] of Object.entries(opts.initial ?? {})) args.push('--set', `${at}=${values.join(',')}`);
  const proc: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', args, { stdio: 'pipe' });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));

  const requests: RequestLog[] = [];
  const functionCodes: number[] = [];
  const acks: { resolve(): void; reject(e: Error): void }[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const [word, ...rest] = line.split(' ');
      if (word === 'READY') resolve(Number(rest[0]));
      else if (word === 'OK') acks.shift()?.resolve();
      else if (word === 'ERR') acks.shift()?.reject(new Error(`pymodbus refused a command: ${line}`));
      else if (word === 'FC') functionCodes.push(Number(rest[1]));
      else if (word === 'REQ') {
        const [unit, area, address, count, ok] = rest;
        requests.push({ unit: Number(unit), area, address: Number(address), count: Number(count), ok: ok === 'ok' });
      }
    });
    void exited.then(() => reject(new Error(`pymodbus server exited before READY:\n${stderr}`)));
  });

  // Commands are answered in order, one OK each.
  const command = (line: string) =>
    new Promise<void>((resolve, reject) => {
      acks.push({ resolve, reject });
      proc.stdin.write(`${line}\n`);
    });
  return {
    port,
    requests,
    functionCodes,
    set: (area, address, ...values) => command(`set ${area} ${address} ${values.join(' ')}`),
    fail: (code, n) => command(`fail ${code} ${n}`),
    mute: (n) => command(`mute ${n}`),
    glitch: (area, address, ...values) => command(`glitch ${area} ${address} ${values.join(' ')}`),
    afterRead: (area, address, ...values) => command(`after-read ${area} ${address} ${values.join(' ')}`),
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
