/**
 * Clocks for tests (src/core/clock.ts defines the interface). They differ on purpose:
 * - ManualClock: time and timers move only when the test advances it.
 * - WarpClock: timers fire at once (next event-loop turn), time jumps to when they were due.
 * - PinnedClock: time stands still unless the test sets `t`; timers are real.
 * - SkewedClock: real time plus an adjustable `skew`; timers are real.
 * - TrackingClock: real time and timers; records their delays and how many are still waiting.
 */
import type { Clock } from '../../src/core/clock.js';

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told, and shows which timers are waiting. Timers fire in
 * order of due time (then of creation), only from advance() or advanceAndSettle().
 */
export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.t + ms, fn };
    this.timers.push(timer);
    return timer.id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Delays (from now) of the timers waiting. */
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t);
  }

  /** Moves time on synchronously, firing due timers in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (let due = this.firstDue(until); due; due = this.firstDue(until)) {
      this.fire(due);
    }
    this.t = until;
  }

  /** Moves time on, firing due timers in order and letting their promises settle after each and at the end. */
  async advanceAndSettle(ms: number): Promise<void> {
    const until = this.t + ms;
    for (let due = this.firstDue(until); due; due = this.firstDue(until)) {
      this.fire(due);
      await new Promise((r) => setImmediate(r));
    }
    this.t = until;
    await new Promise((r) => setImmediate(r));
  }

  /** Jumps to `t` (also backwards) without firing anything, for loops that poll delays themselves. */
  set(t: number): void {
    this.t = t;
  }

  private fire(due: ManualTimer): void {
    this.timers = this.timers.filter((x) => x !== due);
    this.t = due.at;
    due.fn();
  }

  private firstDue(until: number): ManualTimer | undefined {
    return this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
  }
}

/**
 * A clock whose timers fire at once (on the next turn of the event loop) while its time
 * jumps to when they were due. Code that waits minutes for a rate limit runs in
 * milliseconds, against real sockets, and timestamps stay honest: a timer may fire late
 * in virtual time (never early), so a limit that holds here holds for real.
 */
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

/**
 * Time stands still unless the test moves `t` (e.g. past a token's expiry); timers are the
 * real ones, so I/O and timeouts behave as in production.
 */
export class PinnedClock implements Clock {
  t: number;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => setTimeout(fn, ms);
  clearTimeout = (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout);
}

/** Real time plus `skew` ms, which the test can raise to jump past a limit instead of waiting; timers are real. */
export class SkewedClock implements Clock {
  skew = 0;

  now = (): number => Date.now() + this.skew;
  setTimeout = (fn: () => void, ms: number): unknown => setTimeout(fn, ms);
  clearTimeout = (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout);
}

/** Real time and timers, counting the timers set through it that have neither fired nor been cleared. */
export class TrackingClock implements Clock {
  private readonly live = new Set<NodeJS.Timeout>();
  /** The delay of every timer set, in order. */
  readonly delays: number[] = [];

  now = (): number => Date.now();
  setTimeout = (fn: () => void, ms: number): unknown => {
    this.delays.push(ms);
    const h = setTimeout(() => {
      this.live.delete(h);
      fn();
    }, ms);
    this.live.add(h);
    return h;
  };
  clearTimeout = (handle: unknown): void => {
    clearTimeout(handle as NodeJS.Timeout);
    this.live.delete(handle as NodeJS.Timeout);
  };

  /** Timers still waiting. */
  get pending(): number {
    return this.live.size;
  }
}
