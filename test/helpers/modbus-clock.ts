/** A clock that moves only when told, and shows which timers are waiting. */
import type { Clock } from '../../src/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t = 1_000_000;
  private nextId = 1;
  private timers: Timer[] = [];

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

  /** Moves time on, firing due timers in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (let due = this.firstDue(until); due; due = this.firstDue(until)) {
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = until;
  }

  private firstDue(until: number): Timer | undefined {
    return this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
  }
}
