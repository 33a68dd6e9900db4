/**
 * Readings of all devices gathered into one processor batch (one SQLite commit) per
 * `windowMs`, instead of one commit per device poll: 50 PLCs polled every second made 50
 * fsyncs a second, which wears out and stalls an SD card (docs/delivery.md#writes-per-request).
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

  constructor(private readonly o: ReadingQueueOptions) {}

  /** A poll's readings from `source` (the device). */
  add(source: string, batch: Reading[]): void {
    if (this.sources.has(source)) this.flush();
    this.sources.add(source);
    this.pending.push(...batch);
    this.timer ??= this.o.clock.setTimeout(() => this.flush(), this.o.windowMs);
  }

  /** Applies what is gathered now (also before stopping). */
  flush(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.sources.clear();
    if (batch.length > 0) this.o.apply(batch);
  }
}
