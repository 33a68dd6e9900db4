/**
 * Browser sessions of the status page, in memory: a random id per login, valid for a shift
 * (absolute limit) and only while used (idle limit). A restart or a new web.token starts a
 * new store, so every session ends then.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';

export interface SessionPolicy {
  /** From login, however busy the session is. */
  maxAgeMs: number;
  /** Since the last request that showed the session; the open page polls or streams, so this only ends abandoned ones. */
  idleMs: number;
  /** Logins kept at once; the oldest ends first. */
  maxSessions: number;
}

export const SESSION_POLICY: SessionPolicy = { maxAgeMs: 12 * 3600_000, idleMs: 3600_000, maxSessions: 1000 };

interface Session {
  startedAt: number;
  seenAt: number;
}

export class SessionStore {
  // Insertion order is login order, which eviction relies on.
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    readonly policy: SessionPolicy = SESSION_POLICY,
  ) {}

  /** A new session id (256 random bits, URL-safe). */
  start(): string {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) if (this.expired(s, now)) this.sessions.delete(id);
    while (this.sessions.size >= this.policy.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { startedAt: now, seenAt: now });
    return id;
  }

  /** The session is valid; it counts as used now. An expired one is forgotten. */
  use(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    const now = this.clock.now();
    if (this.expired(s, now)) {
      this.sessions.delete(id);
      return false;
    }
    s.seenAt = now;
    return true;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  private expired(s: Session, now: number): boolean {
    return now - s.startedAt >= this.policy.maxAgeMs || now - s.seenAt >= this.policy.idleMs;
  }
}
