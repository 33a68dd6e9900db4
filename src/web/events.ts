/**
 * GET /api/events: server-sent events. A new client gets the status at once; afterwards every
 * provider change is pushed, at most one push per minIntervalMs for all clients together (one
 * status() and one JSON.stringify per push, whatever the number of tablets). A heartbeat event
 * keeps proxies from closing an idle stream and lets the page notice a silent connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusProvider } from './status-types.js';

/** A client that stopped reading (a tablet gone to sleep) is dropped before its backlog grows past this. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export interface EventHub {
  attach(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

export function createEventHub(
  provider: StatusProvider,
  opts: { minIntervalMs: number; heartbeatMs: number; onError(err: unknown): void },
): EventHub {
  const clients = new Set<ServerResponse>();
  let lastPushAt = 0;
  let timer: NodeJS.Timeout | undefined;

  const statusFrame = () => `event: status\ndata: ${JSON.stringify(provider.status())}\n\n`;
  const broadcast = (frame: string) => {
    for (const res of clients) {
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        clients.delete(res);
        res.destroy(); // EventSource reconnects when the client wakes up
      } else {
        res.write(frame);
      }
    }
  };
  const push = () => {
    timer = undefined;
    lastPushAt = Date.now();
    if (clients.size === 0) return;
    // Runs from a timer: a throwing provider must not become an uncaught exception.
    try {
      broadcast(statusFrame());
    } catch (err) {
      opts.onError(err);
    }
  };

  const unsubscribe = provider.onChange(() => {
    if (timer !== undefined || clients.size === 0) return;
    timer = setTimeout(push, Math.max(0, lastPushAt + opts.minIntervalMs - Date.now()));
  });
  const heartbeat = setInterval(() => broadcast(`event: heartbeat\ndata: ${Date.now()}\n\n`), opts.heartbeatMs);
  heartbeat.unref();

  return {
    attach(req, res) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and similar proxies would otherwise hold events back in their buffer.
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 3000\n\n${statusFrame()}`);
      clients.add(res);
      const drop = () => clients.delete(res);
      req.on('close', drop);
      res.on('error', drop);
    },
    close() {
      unsubscribe();
      clearTimeout(timer);
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
