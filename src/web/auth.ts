/**
 * Access with web.token: `Authorization: Bearer <token>` (scripts, Prometheus) or the session
 * cookie the login form sets (browsers). The cookie holds an HMAC of the token, never the token
 * itself, so it survives restarts and dies when the token is changed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const COOKIE = 'sfg_session';
/** A shift-floor tablet should not have to log in every day. */
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

export interface Auth {
  /** The request carries the token or a valid session cookie. */
  allows(req: IncomingMessage): boolean;
  /** `candidate` is the token (constant time). */
  isToken(candidate: string): boolean;
  /** Set-Cookie header value for a successful login. */
  sessionCookie(): string;
}

export function createAuth(token: string): Auth {
  const session = createHmac('sha256', token).update('shopfloor-gateway web session').digest('base64url');
  const isToken = (candidate: string) => sameSecret(candidate, token);
  return {
    isToken,
    allows(req) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (bearer) return isToken(bearer[1]);
      const cookie = readCookie(req.headers.cookie, COOKIE);
      return cookie !== undefined && sameSecret(cookie, session);
    },
    sessionCookie: () => `${COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}`,
  };
}

/** Hashing both sides gives equal lengths, so timingSafeEqual leaks neither content nor length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
