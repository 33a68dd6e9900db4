/**
 * Readings of all devices gathered into one processor batch (one SQLite commit) per
 * `windowMs` at most, instead of one commit per device poll: 50 PLCs polled every second made
 * 50 fsyncs a second, which wears out and stalls an SD card (docs/delivery.md#writes-per-request).
 * A poll that finds the last commit a window ago or more is applied at once: waiting would
 * gather nothing more, only hold its counts back (a first count after a start, bench/startup).
 * Nothing is at risk meanwhile: the PLC's counter is the source, and a crash before the
 * commit re-reads it. A device's next batch never joins its previous one (that one is applied
 * first), so each machine still gets every poll as one batch of its own.
 */
import type { Clock } from '../core/clock.js';
import type { Reading } from '../core/values.js';

export interface ReadingQueueOptions {
  clock: Clock;
  windowMs: number;
  /** Applies the gathered readings (the processor's transaction). */
  apply: (batch: Reading[]) => void;
}

export class ReadingQueue {
  private pending: Reading[] = [];
  private readonly sources = new Set<string>();
  private timer: unknown;
  /** When the last batch was applied. */
  private appliedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: ReadingQueueOptions) {}

  /** A poll's readings from `source` (the device). */
  add(source: string, batch: Reading[]): void {
    if (this.sources.has(source)) this.flush();
    this.sources.add(source);
    this.pending.push(...batch);
    if (this.timer !== undefined) return;
    const wait = this.appliedAt + this.o.windowMs - this.o.clock.now();
    if (wait <= 0) this.flush();
    else this.timer = this.o.clock.setTimeout(() => this.flush(), wait);
  }

  /** Applies what is gathered now (also before stopping). */
  flush(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.sources.clear();
    if (batch.length === 0) return;
    this.appliedAt = this.o.clock.now();
    this.o.apply(batch);
  }
}
