/**
 * The commissioning grant: a small 0600 file in the commissioning folder that opens a window.
 * `shopfloor-gateway commission` (or web.commissioning at start) writes it; the running gateway
 * reads it when asked, so opening a window needs no restart, signal or socket — only write
 * access to the state folder, which is the box's own. The file holds the SHA-256 of the
 * one-time token, never the token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatUrl, parseListen } from '../../core/net.js';
import * as z from 'zod';
import { type Owner, writeFileAtomic } from './atomic-write.js';

const grantSchema = z.object({
  id: z.string().min(1),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number(),
  expiresAt: z.number(),
  /** Set when the token was exchanged for a session: it works once, also across a restart. */
  usedAt: z.number().optional(),
});

export type Grant = z.output<typeof grantSchema>;

/** `<storage folder>/commission`: grant, backups, reports. Beside `state/` (whose subfolders are device ids), not in it. */
export function commissionDir(storagePath: string): string {
  return join(dirname(resolve(storagePath)), 'commission');
}

const grantFile = (dir: string) => join(dir, 'grant.json');

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Opens a window of `minutes` from `now`, replacing any other; returns the one-time token (256
 * random bits). `owner`: the gateway's user, when root writes the grant for a service that must
 * read it, and mark it used.
 */
export function writeGrant(dir: string, now: number, minutes: number, owner?: Owner): { token: string; grant: Grant } {
  const token = randomBytes(32).toString('base64url');
  const grant: Grant = { id: randomBytes(9).toString('base64url'), tokenHash: hashToken(token), createdAt: now, expiresAt: now + minutes * 60_000 };
  writeFileAtomic(grantFile(dir), `${JSON.stringify(grant)}\n`, 0o600, owner);
  return { token, grant };
}

/** The grant on disk; undefined when none (or an unreadable one: no window then, never a crash). */
export function readGrant(dir: string): Grant | undefined {
  let text: string;
  try {
    text = readFileSync(grantFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = grantSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function markGrantUsed(dir: string, grant: Grant, now: number): void {
  writeFileAtomic(grantFile(dir), `${JSON.stringify({ ...grant, usedAt: now })}\n`, 0o600);
}

/** Ends the window at once (`commission --close`). */
export function removeGrant(dir: string): void {
  rmSync(grantFile(dir), { force: true });
}

/**
 * The page's address with the token in the fragment: a browser never sends a fragment, so
 * the token stays out of proxies' and servers' access logs; the page posts it once.
 * A wildcard listen address is reached by the box's name.
 */
export function commissionUrl(listen: string, token: string): string {
  const { host, port } = parseListen(listen);
  const reachable = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return `${formatUrl(reachable, port)}#commission=${token}`;
}

/**
 * web.commissioning at start: a window whose URL goes to `<dir>/url.txt` (0600) for the
 * technician at the box, not to the log (the journal is read more widely).
 */
export function openAtStart(dir: string, listen: string, now: number, minutes: number): { urlFile: string; expiresAt: number } {
  const { token, grant } = writeGrant(dir, now, minutes);
  const urlFile = join(dir, 'url.txt');
  writeFileAtomic(urlFile, `${commissionUrl(listen, token)}\n`, 0o600);
  return { urlFile, expiresAt: grant.expiresAt };
}
