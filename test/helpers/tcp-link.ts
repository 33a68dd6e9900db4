/**
 * A TCP relay in front of a server that can go silent, like a pulled cable: sockets
 * stay open and nothing gets through. `restore()` resets what was held (as a peer's
 * stack eventually does) and relays new connections again. `slow(ms)` holds every answer
 * (server → client) back that long, in order, as a saturated or far-away server does.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface SilentLink {
  port: number;
  silence(): void;
  restore(): void;
  /** Answers arrive `ms` late from now on; 0 relays them at once again. */
  slow(ms: number): void;
  close(): Promise<void>;
}

export async function startSilentLink(targetPort: number): Promise<SilentLink> {
  let silent = false;
  let answerDelayMs = 0;
  const held = new Set<Socket>();
  const open = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
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
  const answer = (client: Socket, d: Buffer) => {
    if (answerDelayMs <= 0) return void client.write(d);
    // Same delay for every chunk, so timers fire in arrival order and the stream stays intact.
    const h = setTimeout(() => {
      timers.delete(h);
      if (!client.destroyed) client.write(d);
    }, answerDelayMs);
    timers.add(h);
  };

  const server = createServer((client) => {
    track(client);
    if (silent) return hold(client);
    const upstream = connect(targetPort, '127.0.0.1');
    track(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => answer(client, d));
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
    slow(ms) {
      answerDelayMs = ms;
    },
    async close() {
      for (const h of timers) clearTimeout(h);
      timers.clear();
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
