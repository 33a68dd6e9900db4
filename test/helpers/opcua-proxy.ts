/**
 * A TCP relay in front of a server that can go silent, like a pulled cable: sockets
 * stay open and nothing gets through. `restore()` resets what was held (as a peer's
 * stack eventually does) and relays new connections again.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface SilentLink {
  port: number;
  silence(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startSilentLink(targetPort: number): Promise<SilentLink> {
  let silent = false;
  const held = new Set<Socket>();
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => s.destroy());
  };
  const hold = (s: Socket) => {
    held.add(s);
    s.removeAllListeners('data');
    s.pause();
  };

  const server = createServer((client) => {
    track(client);
    if (silent) return hold(client);
    const upstream = connect(targetPort, '127.0.0.1');
    track(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as { port: number }).port,
    silence() {
      silent = true;
      for (const s of open) hold(s);
    },
    restore() {
      silent = false;
      for (const s of held) s.destroy();
      held.clear();
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
