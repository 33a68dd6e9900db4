/**
 * Wrong web.token attempts (login form or Bearer), per client address: a few are free, then
 * each further wrong one locks the address out for twice as long as the last, up to a cap.
 * A right token resets it. Logging is summarised: the first wrong token from an address is
 * logged at once (for at most `summaryAddresses` addresses a period), the rest as one line per
 * summary period with the counts per address.
 * The attempted token is never seen here, so it cannot be logged.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';

export interface ThrottlePolicy {
  /** Wrong tokens before the first lockout. */
  freeFailures: number;
  /** Lockout after the last free failure; doubles with each further one. */
  firstLockMs: number;
  maxLockMs: number;
  /** An address with no wrong token for this long starts over (more than maxLockMs). */
  forgetMs: number;
  /** Addresses remembered; the one that failed longest ago is forgotten first. */
  maxClients: number;
  summaryMs: number;
  /** Addresses named in one summary line; the rest are added up. */
  summaryAddresses: number;
}

export const THROTTLE_POLICY: ThrottlePolicy = {
  freeFailures: 5,
  firstLockMs: 1000,
  maxLockMs: 15 * 60_000,
  forgetMs: 60 * 60_000,
  maxClients: 10_000,
  summaryMs: 5 * 60_000,
  summaryAddresses: 20,
};

interface Client {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

interface Unreported {
  wrong: number;
  locked: number;
}

export class LoginThrottle {
  // Insertion order is "failed longest ago first": a failure re-inserts its address.
  private readonly clients = new Map<string, Client>();
  private readonly unreported = new Map<string, Unreported>();
  /** Counts of addresses past maxClients in one period: in the totals, not by name. */
  private overflow: Unreported = { wrong: 0, locked: 0 };
  /** Addresses whose wrong token was logged at once this period (at most summaryAddresses). */
  private readonly announced = new Set<string>();
  private summaryTimer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: ThrottlePolicy = THROTTLE_POLICY,
  ) {}

  /** Milliseconds until `client` may try a token again; 0 when it may now. A refused try is counted for the summary. */
  lockedFor(client: string): number {
    const c = this.current(client);
    const left = c ? c.lockedUntil - this.clock.now() : 0;
    if (left <= 0) return 0;
    this.note(client).locked++;
    return left;
  }

  /** `client` sent a wrong token. */
  failed(client: string): void {
    const now = this.clock.now();
    const c = this.current(client) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 };
    c.failures++;
    c.lastFailureAt = now;
    const over = c.failures - this.policy.freeFailures;
    if (over >= 0) c.lockedUntil = now + Math.min(this.policy.firstLockMs * 2 ** Math.min(over, 40), this.policy.maxLockMs);
    this.clients.delete(client);
    this.clients.set(client, c);
    if (this.clients.size > this.policy.maxClients) this.clients.delete(this.clients.keys().next().value!);

    // An address that alternates right and wrong tokens (a stale script next to a good one) starts
    // over each time; `announced` keeps that to one line a period.
    if (c.failures === 1 && !this.announced.has(client) && this.announced.size < this.policy.summaryAddresses) {
      this.announced.add(client);
      this.startPeriod();
      this.log.warn(
        { event: 'web.login_failed', remote: client },
        'status page: wrong token from %s (further wrong tokens are summarised every %d min)',
        client,
        Math.round(this.policy.summaryMs / 60_000),
      );
    } else {
      this.note(client).wrong++;
    }
  }

  /** `client` sent the right token: it starts over. */
  succeeded(client: string): void {
    this.clients.delete(client);
  }

  /** Writes what the summary has not reported yet and stops its timer. */
  close(): void {
    this.clock.clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    this.summarise();
  }

  private current(client: string): Client | undefined {
    const c = this.clients.get(client);
    if (c && this.clock.now() - c.lastFailureAt >= this.policy.forgetMs) {
      this.clients.delete(client);
      return undefined;
    }
    return c;
  }

  private note(client: string): Unreported {
    this.startPeriod();
    let u = this.unreported.get(client);
    if (u) return u;
    if (this.unreported.size >= this.policy.maxClients) return this.overflow;
    u = { wrong: 0, locked: 0 };
    this.unreported.set(client, u);
    return u;
  }

  private startPeriod(): void {
    this.summaryTimer ??= this.clock.setTimeout(() => {
      this.summaryTimer = undefined;
      this.summarise();
    }, this.policy.summaryMs);
  }

  private summarise(): void {
    this.announced.clear();
    const rows = [...this.unreported].sort(([, a], [, b]) => b.wrong + b.locked - (a.wrong + a.locked));
    const { overflow } = this;
    this.unreported.clear();
    this.overflow = { wrong: 0, locked: 0 };
    const wrong = rows.reduce((n, [, u]) => n + u.wrong, overflow.wrong);
    const locked = rows.reduce((n, [, u]) => n + u.locked, overflow.locked);
    if (wrong + locked === 0) return;
    const named = rows.slice(0, this.policy.summaryAddresses);
    this.log.warn(
      {
        event: 'web.login_failed',
        summary: true,
        periodMs: this.policy.summaryMs,
        wrong,
        locked,
        addresses: rows.length,
        byAddress: Object.fromEntries(named),
      },
      'status page: %d more wrong tokens and %d tries while locked out, from %d address(es)',
      wrong,
      locked,
      rows.length,
    );
  }
}
