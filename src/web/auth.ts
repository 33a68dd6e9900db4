/**
 * Access with web.token: `Authorization: Bearer <token>` (scripts, Prometheus) or a session
 * cookie the login form sets (browsers). The cookie holds a random session id (sessions.ts),
 * never the token, and is Secure when the browser came over HTTPS (through a local proxy).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { SessionStore } from './sessions.js';

const COOKIE = 'sfg_session';

/** What a request shows: a valid session, the token, a wrong token, or nothing (an unknown or expired session counts as nothing). */
export type Credential = 'session' | 'token' | 'wrong-token' | 'none';

export interface Auth {
  /** What `req` shows. For a session, `res` is cut when the session ends (a live event stream outlasts any check at its start). */
  credential(req: IncomingMessage, res: ServerResponse): Credential;
  /** `candidate` is the token (constant time). */
  isToken(candidate: string): boolean;
  /** Starts a session; the Set-Cookie header value that carries it. */
  startSession(secure: boolean): string;
  /** Ends the request's session, if any; the Set-Cookie header value that clears the cookie. */
  endSession(req: IncomingMessage, secure: boolean): string;
}

export function createAuth(token: string, clock: Clock): Auth {
  const sessions = new SessionStore(clock);
  const isToken = (candidate: string) => sameSecret(candidate, token);
  const cookie = (value: string, maxAgeMs: number, secure: boolean) =>
    `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`;
  return {
    isToken,
    credential(req, res) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (bearer) return isToken(bearer[1]) ? 'token' : 'wrong-token';
      const id = readCookie(req.headers.cookie, COOKIE);
      if (id === undefined) return 'none';
      const leftMs = sessions.requestStarted(id);
      if (leftMs <= 0) return 'none';
      const cut = clock.setTimeout(() => res.destroy(), leftMs);
      res.once('close', () => {
        clock.clearTimeout(cut);
        sessions.requestEnded(id);
      });
      return 'session';
    },
    startSession: (secure) => cookie(sessions.create(), sessions.policy.maxAgeMs, secure),
    endSession(req, secure) {
      const id = readCookie(req.headers.cookie, COOKIE);
      if (id !== undefined) sessions.end(id);
      return cookie('', 0, secure);
    },
  };
}

/** Hashing both sides gives equal lengths, so timingSafeEqual leaks neither content nor length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
