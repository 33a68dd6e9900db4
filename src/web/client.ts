/** Who is asking, as far as the status server can tell. */
import { isIP, type Socket } from 'node:net';

/** The socket's peer, IPv4-mapped IPv6 written as IPv4 so one client has one name; '' when unknown. */
export function peerAddress(socket: Socket): string {
  return plainAddress(socket.remoteAddress ?? '');
}

function plainAddress(address: string): string {
  const lower = address.toLowerCase();
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIP(v4) === 4 ? v4 : lower;
}
