/**
 * Who is asking, as far as the status server can tell. A peer on this host (127.0.0.0/8, ::1)
 * is trusted to be a reverse proxy: its X-Forwarded-For names the client and its
 * X-Forwarded-Proto says whether the browser used HTTPS. Anyone else could forge both.
 */
import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { isLoopback } from '../core/net.js';

/** The socket's peer, IPv4-mapped IPv6 written as IPv4 so one client has one name; '' when unknown. */
export function peerAddress(socket: Socket): string {
  return plainAddress(socket.remoteAddress ?? '');
}

/** The client a login is charged to: the peer, or the last hop a loopback proxy added to X-Forwarded-For. */
export function clientAddress(req: IncomingMessage): string {
  const peer = peerAddress(req.socket);
  if (!isLoopback(peer)) return peer;
  const forwarded = oneHeader(req.headers['x-forwarded-for'])?.split(',').at(-1)?.trim() ?? '';
  return isIP(forwarded) ? plainAddress(forwarded) : peer;
}

/** The browser reached us over HTTPS: only a loopback proxy can say so (the server itself speaks plain HTTP). */
export function viaHttps(req: IncomingMessage): boolean {
  if (!isLoopback(peerAddress(req.socket))) return false;
  return oneHeader(req.headers['x-forwarded-proto'])?.split(',')[0].trim().toLowerCase() === 'https';
}

function plainAddress(address: string): string {
  const lower = address.toLowerCase();
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIP(v4) === 4 ? v4 : lower;
}

function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
