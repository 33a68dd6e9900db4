/**
 * Open sockets per client, so one client cannot take the status page from everyone: each
 * address may hold a few dozen, all other machines together a fixed total, and this host
 * (loopback: systemd, monitoring, a local reverse proxy) is never crowded out by them.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { peerAddress } from './client.js';
import { isLoopback } from '../core/net.js';

export interface ConnectionLimits {
  /** Sockets one address may hold open; the SSE cap (16) and a few page requests fit. */
  perAddress: number;
  /** Sockets all non-loopback addresses may hold together. */
  remoteTotal: number;
}

const CONNECTION_LIMITS: ConnectionLimits = { perAddress: 32, remoteTotal: 224 };

/** Counts open sockets per address and says whether one more may open. */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();
  private remote = 0;

  constructor(private readonly limits: ConnectionLimits = CONNECTION_LIMITS) {}

  /** Counts the socket and returns 'ok', or names the limit reached (and counts nothing). */
  admit(address: string): 'ok' | 'per-address' | 'remote-total' {
    const held = this.open.get(address) ?? 0;
    const local = isLoopback(address);
    if (held >= this.limits.perAddress) return 'per-address';
    if (!local && this.remote >= this.limits.remoteTotal) return 'remote-total';
    this.open.set(address, held + 1);
    if (!local) this.remote++;
    return 'ok';
  }

  /** A socket admitted for `address` closed; returns how many it still holds. */
  release(address: string): number {
    const held = this.open.get(address) ?? 0;
    if (held <= 0) return 0;
    if (held === 1) this.open.delete(address);
    else this.open.set(address, held - 1);
    if (!isLoopback(address)) this.remote--;
    return held - 1;
  }
}

/**
 * Destroys a new socket at once when it is over a limit (no answer: a flood gets nothing to
 * read). Logs once when an address, or all remote clients together, reach a limit, and again
 * only after sockets have closed, so a flood makes one line, not one per socket.
 */
export function limitConnections(server: Server, log: Logger, limits: ConnectionLimits = CONNECTION_LIMITS): void {
  const counter = new ConnectionCounter(limits);
  // Only addresses that hold sockets: each one's last close removes it, so this stays small.
  const limitedAddresses = new Set<string>();
  let totalLimited = false;
  server.on('connection', (socket: Socket) => {
    const address = peerAddress(socket);
    const verdict = address ? counter.admit(address) : 'per-address';
    if (verdict === 'ok') {
      socket.once('close', () => {
        if (counter.release(address) === 0) limitedAddresses.delete(address);
        if (!isLoopback(address)) totalLimited = false;
      });
      return;
    }
    socket.destroy();
    if (verdict === 'per-address' && address && !limitedAddresses.has(address)) {
      limitedAddresses.add(address);
      log.warn(
        { event: 'web.connections_limited', remote: address, limit: limits.perAddress },
        'status page: %s holds %d connections, refusing more from it',
        address,
        limits.perAddress,
      );
    } else if (verdict === 'remote-total' && !totalLimited) {
      totalLimited = true;
      log.warn(
        { event: 'web.connections_limited', remote: address, limit: limits.remoteTotal },
        'status page: other machines hold %d connections, refusing more (this host still gets in)',
        limits.remoteTotal,
      );
    }
  });
}
