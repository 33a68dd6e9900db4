/** `host:port` parsing (`web.listen`, `simulate.mes.listen`) and the loopback tests that decide whether a token is required. */
import { isIP } from 'node:net';

export interface ListenAddress {
  /** Without brackets: `127.0.0.1`, `::1`, `localhost`, `0.0.0.0`. */
  host: string;
  port: number;
}

export function parseListen(listen: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`web.listen "${listen}" is not host:port (such as 127.0.0.1:8080 or [::1]:8080)`);
  }
  const host = m[1] ?? m[2];
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`web.listen "${listen}": [${host}] is not an IPv6 address`);
  return { host, port };
}

/** Only addresses no other machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The Host header of a request names a loopback address (port optional): `127.0.0.1:8080`,
 * `localhost`, `[::1]:8080`. Without web.token this is what keeps a page on another site whose
 * name was rebound to 127.0.0.1 (DNS rebinding) from reading or acting on the status page: the
 * browser still sends that site's name as Host. No Host at all is refused too.
 */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(hostHeader ?? '');
  if (!m) return false;
  if (m[1] !== undefined) return isIP(m[1]) === 6 && isLoopback(m[1]);
  return isLoopback(m[2]);
}

/** A URL a local browser can open; brackets for IPv6 literals. */
export function formatUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/`;
}
