/**
 * The gateway's one request budget towards the MES (docs/rate-budget.md). Every HTTP
 * request, token requests included, takes a slot.
 *
 * Two limits, both must allow a send:
 * - a spacing: sends at least SPAN_MS / perMinute apart (620 ms at 100/min), which spreads
 *   them evenly, as the MES asks. No burst after a quiet spell: under steady work a burst
 *   comes back SPAN_MS later as a stall followed by another burst (the window below lets
 *   the burst's slots go all at once), every window for as long as the work lasts;
 * - a sliding window of the sends themselves: the hard guarantee. No half-open window of
 *   SPAN_MS (60 s + ARRIVAL_MARGIN_MS) ever holds more than perMinute sends, across restarts
 *   too: the gateway records each send in the database (`request_log`) and passes the last
 *   SPAN_MS of it back as `history`. With the spacing alone it never binds; it holds back a
 *   send only when answers came late (see `answered`), by about their lateness, once.
 *
 * The MES counts a request when it arrives, somewhere between our send and its answer; a
 * slow answer at the start of a window and a quick one at its end would put perMinute + 1
 * into one of its windows. So a send stays in the window as of its answer (`answered`);
 * the margin covers what arrives later than the gateway could tell (a request still on its
 * way when the gateway gave up on it).
 */
import { sleep, type Clock } from '../core/clock.js';

const WINDOW_MS = 60_000;
/**
 * How much later than its send a request may reach the MES. Measured: 10–15 ms on a new
 * connection over loopback/LAN. A Pi opening a new TCP + TLS connection over a slow or
 * cellular uplink needs 3 round trips of 100–300 ms, plus a TLS handshake that is slow on
 * its CPU: under a second; 2 s covers that with room. It costs 3 % of the budget (120 per
 * 62 s). A connect slower than this (up to timeoutMs) is a rare outlier not covered.
 */
export const ARRIVAL_MARGIN_MS = 2_000;
/** The window the send times are limited in; also how far back a restart must look. */
export const SPAN_MS = WINDOW_MS + ARRIVAL_MARGIN_MS;

/** Marks a send as answered: from then on the window counts it from now. */
export type Answered = () => void;

/** What the uploader and the MES client need of a budget: this gateway's own (RateBudget) or the company's (SharedBudget). */
export interface SendBudget {
  /** Milliseconds until a send is likely allowed; 0 = now. */
  delayMs(): number;
  /** Waits until a send is allowed and takes it; call the result when its answer (or failure) came. Rejects if `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<Answered>;
  /** Nothing may be sent before t (a 429's Retry-After: the limit is company-wide). */
  pauseUntil(t: number): void;
  /** This gateway's sends of the last 60 s. */
  usedLastMinute(): number;
}

export interface RateBudgetOptions {
  perMinute: number;
  clock: Clock;
  /** Send timestamps of the last SPAN_MS, e.g. persisted from before a restart. */
  history?: number[];
}

export class RateBudget implements SendBudget {
  readonly perMinute: number;
  private readonly clock: Clock;
  /**
   * The spacing as a bucket of at most one send, in 1/SPAN_MS of a send: it refills by
   * perMinute per ms, so integer ms stay exact and the rounding of one wait is made up by
   * the next (perMinute sends take exactly SPAN_MS).
   */
  private level: number;
  private levelAt: number;
  /** Sends of the current window, oldest first; `at` moves to the answer once it came. */
  private sends: { at: number }[] = [];
  private pausedUntilMs = 0;

  constructor(opts: RateBudgetOptions) {
    const { perMinute, clock } = opts;
    if (!Number.isInteger(perMinute) || perMinute < 1) throw new RangeError(`perMinute must be a positive integer, got ${perMinute}`);
    this.perMinute = perMinute;
    this.clock = clock;
    const now = clock.now();
    // A timestamp ahead of now means the wall clock stepped back since: count it as now.
    const past = (opts.history ?? [])
      .map((t) => Math.min(t, now))
      .filter((t) => t > now - SPAN_MS)
      .sort((a, b) => a - b);
    this.level = SPAN_MS;
    this.levelAt = past[0] ?? now;
    // Replaying the history keeps the spacing from the previous process's last send.
    for (const t of past) this.record(t);
  }

  /** Milliseconds until a send is allowed; 0 = now. */
  delayMs(): number {
    const now = this.now();
    this.refill(now);
    const spacing = this.level >= SPAN_MS ? 0 : Math.ceil((SPAN_MS - this.level) / this.perMinute);
    const n = this.sends.length;
    const window = n < this.perMinute ? 0 : this.sends[n - this.perMinute].at + SPAN_MS - now;
    return Math.max(0, this.pausedUntilMs - now, spacing, window);
  }

  /** Records a send made now; call the returned function when its answer (or failure) came. */
  take(): Answered {
    const send = this.record(this.now());
    return () => this.answered(send);
  }

  /** Nothing may be sent before t (a 429's Retry-After: the limit is company-wide). */
  pauseUntil(t: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, t);
  }

  usedLastMinute(): number {
    const now = this.now();
    return this.sends.filter((s) => s.at > now - WINDOW_MS).length;
  }

  /** Waits on the clock until a send is allowed, then takes it (see `take`). Rejects if `signal` aborts. */
  async acquire(signal?: AbortSignal): Promise<Answered> {
    for (;;) {
      signal?.throwIfAborted();
      const wait = this.delayMs();
      if (wait === 0) return this.take();
      await sleep(this.clock, wait, signal);
    }
  }

  private record(at: number): { at: number } {
    this.refill(at);
    // Floor at empty: a send taken without waiting is already counted by the window.
    this.level = Math.max(0, this.level - SPAN_MS);
    const send = { at };
    this.sends.push(send);
    return send;
  }

  private answered(send: { at: number }): void {
    const now = this.now();
    if (now <= send.at) return;
    send.at = now;
    // An answer slower than the window had already let the send go: it counts from now.
    if (!this.sends.includes(send)) this.sends.push(send);
    this.sends.sort((a, b) => a.at - b.at);
  }

  private refill(at: number): void {
    if (at <= this.levelAt) return;
    // Full is one send; what a rounded-up wait refilled beyond it (under 1 ms) is kept for the next.
    this.level = Math.min(SPAN_MS + this.perMinute - 1, this.level + (at - this.levelAt) * this.perMinute);
    this.levelAt = at;
  }

  /** The current time, with sends that left the window dropped. */
  private now(): number {
    const now = this.clock.now();
    if (this.levelAt > now) {
      // The wall clock stepped back (NTP on a Pi without RTC): restart the minute at now
      // rather than blocking until the clock catches up with the old timestamps.
      this.levelAt = now;
      for (const s of this.sends) s.at = Math.min(s.at, now);
    }
    while (this.sends.length > 0 && this.sends[0].at <= now - SPAN_MS) this.sends.shift();
    return now;
  }
}
