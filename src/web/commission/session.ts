/**
 * Commissioning sessions: the one-time token of the grant is exchanged once for a session
 * (a cookie id and a CSRF token). A session lives as long as its grant's window: it ends
 * when the window expires on the gateway's clock, when a new grant replaces it, or when
 * the grant is removed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { type Grant, hashToken, markGrantUsed, readGrant } from './grant.js';

export interface CommissionSession {
  /** A short, loggable name of the session (not its cookie id). */
  tag: string;
  csrf: string;
  expiresAt: number;
}

export type SessionRefusal = 'SFG_COMMISSION_OFF' | 'SFG_COMMISSION_TOKEN' | 'SFG_COMMISSION_SESSION';

interface Stored extends CommissionSession {
  grantId: string;
}

/** Sessions kept at once: a window is for one or two technicians, not a crowd. */
const MAX_SESSIONS = 20;

export class CommissionSessions {
  private readonly sessions = new Map<string, Stored>();

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {}

  /** The open window, if any. */
  window(): Grant | undefined {
    const grant = readGrant(this.dir);
    return grant && this.clock.now() < grant.expiresAt ? grant : undefined;
  }

  /** The token for a new session; refused when no window is open, or the token is wrong or used. */
  exchange(token: string): ({ id: string } & CommissionSession) | { refused: SessionRefusal } {
    const grant = this.window();
    if (!grant) return { refused: 'SFG_COMMISSION_OFF' };
    if (grant.usedAt !== undefined || !sameHash(hashToken(token), grant.tokenHash)) return { refused: 'SFG_COMMISSION_TOKEN' };
    markGrantUsed(this.dir, grant, this.clock.now());
    for (const [id, s] of this.sessions) if (s.grantId !== grant.id) this.sessions.delete(id);
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const session: Stored = {
      tag: createHash('sha256').update(id).digest('hex').slice(0, 12),
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: grant.expiresAt,
      grantId: grant.id,
    };
    this.sessions.set(id, session);
    return { id, tag: session.tag, csrf: session.csrf, expiresAt: session.expiresAt };
  }

  /** The session of cookie id `id` while its window is open. */
  session(id: string | undefined): CommissionSession | { refused: SessionRefusal } {
    const grant = this.window();
    if (!grant) {
      this.sessions.clear();
      return { refused: 'SFG_COMMISSION_OFF' };
    }
    const s = id === undefined ? undefined : this.sessions.get(id);
    if (!s || s.grantId !== grant.id) return { refused: 'SFG_COMMISSION_SESSION' };
    return { tag: s.tag, csrf: s.csrf, expiresAt: s.expiresAt };
  }
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
