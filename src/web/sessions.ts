/**
 * Browser sessions of the status page, in memory: a random id per login, valid for a shift
 * (absolute limit) and only while used (idle limit). A restart or a new web.token starts a
 * new store, so every session ends then.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';

export interface SessionPolicy {
  /** From login, however busy the session is. */
  maxAgeMs: number;
  /** Since the last request that showed the session; the open page polls or streams, so this only ends abandoned ones. */
  idleMs: number;
  /** Logins kept at once; the oldest ends first. */
  maxSessions: number;
}

const SESSION_POLICY: SessionPolicy = { maxAgeMs: 12 * 3600_000, idleMs: 3600_000, maxSessions: 1000 };

interface Session {
  startedAt: number;
  seenAt: number;
  /** Requests under way; a session with one open (the page's event stream) is not idle. */
  open: number;
}

export class SessionStore {
  // Insertion order is login order, which eviction relies on.
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    readonly policy: SessionPolicy = SESSION_POLICY,
  ) {}

  /** A new session id (256 random bits, URL-safe). */
  create(): string {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) if (this.expired(s, now)) this.sessions.delete(id);
    while (this.sessions.size >= this.policy.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { startedAt: now, seenAt: now, open: 0 });
    return id;
  }

  /**
   * A request shows session `id`: milliseconds until the session ends for good, or 0 when it
   * is not valid (an expired one is forgotten). Call requestEnded when a valid one is answered.
   */
  requestStarted(id: string): number {
    const s = this.sessions.get(id);
    if (!s) return 0;
    const now = this.clock.now();
    if (this.expired(s, now)) {
      this.sessions.delete(id);
      return 0;
    }
    s.open++;
    s.seenAt = now;
    return s.startedAt + this.policy.maxAgeMs - now;
  }

  requestEnded(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.open = Math.max(0, s.open - 1);
    s.seenAt = this.clock.now();
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  private expired(s: Session, now: number): boolean {
    return now - s.startedAt >= this.policy.maxAgeMs || (s.open === 0 && now - s.seenAt >= this.policy.idleMs);
  }
}
