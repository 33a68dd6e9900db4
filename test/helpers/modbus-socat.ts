/** A virtual null-modem cable: two linked ptys from socat, with stable names. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { eventually } from './wait.js';

export interface PtyPair {
  a: string;
  b: string;
  /** Pulls the cable: both ends vanish, as a USB adapter unplugged. */
  kill(): Promise<void>;
}

export async function startPtyPair(dir: string): Promise<PtyPair> {
  const a = `${dir}/a`;
  const b = `${dir}/b`;
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await eventually(
    () => existsSync(a) && existsSync(b),
    (ok) => ok,
    10_000,
    `socat ptys ${a} ${b}`,
  );
  return {
    a,
    b,
    async kill() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
