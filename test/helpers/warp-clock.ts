/**
 * A clock whose timers fire at once (on the next turn of the event loop) while its time
 * jumps to when they were due. Code that waits minutes for a rate limit runs in
 * milliseconds, against real sockets, and timestamps stay honest: a timer may fire late
 * in virtual time (never early), so a limit that holds here holds for real.
 */
import type { Clock } from '../../src/clock.js';

export class WarpClock implements Clock {
  private t: number;
  private readonly live = new Map<number, NodeJS.Immediate>();
  private nextId = 1;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const due = this.t + Math.max(0, ms);
    const id = this.nextId++;
    // setImmediate lets I/O (real HTTP answers) interleave with the timers.
    this.live.set(
      id,
      setImmediate(() => {
        this.live.delete(id);
        this.t = Math.max(this.t, due);
        fn();
      }),
    );
    return id;
  }

  clearTimeout(handle: unknown): void {
    const h = this.live.get(handle as number);
    if (h) clearImmediate(h);
    this.live.delete(handle as number);
  }
}
