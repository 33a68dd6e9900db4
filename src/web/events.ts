/**
 * GET /api/events: server-sent events. A new client gets the status at once; afterwards every
 * provider change is pushed, at most one push per minIntervalMs for all clients together (one
 * status() and one JSON.stringify per push, whatever the number of tablets). A heartbeat event
 * keeps proxies from closing an idle stream and lets the page notice a silent connection.
 *
 * The status can be large (about 1 MB with 30 machines), so memory is bounded: at most
 * maxClients streams (the page polls /api/status when refused), a client that connects shortly
 * after a push gets that frame instead of a new one, every client is written the same Buffer, and
 * a client that stops reading is dropped once about two frames wait for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusProvider } from '../core/status.js';

/** Streams at the same time; more are answered 503 and the page falls back to polling. */
const DEFAULT_MAX_EVENT_CLIENTS = 16;
/** A frame built this recently is sent as it is to a new client, unless the status changed since. */
const FRESH_FRAME_MS = 1000;
/** A client is dropped before more than this many status frames wait in its send buffer... */
const MAX_BACKLOG_FRAMES = 2;
/** ...or this many bytes, when frames are small. */
const MIN_BACKLOG_BYTES = 64 * 1024;
/** Retry-After of the 503 for one client too many (seconds). */
const RETRY_AFTER_S = 30;

export interface EventHub {
  /** Starts a stream, or answers 503 when maxClients streams are open. */
  attach(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

export function createEventHub(
  provider: StatusProvider,
  opts: { minIntervalMs: number; heartbeatMs: number; maxClients?: number; onError(err: unknown): void },
): EventHub {
  const maxClients = opts.maxClients ?? DEFAULT_MAX_EVENT_CLIENTS;
  const clients = new Set<ServerResponse>();
  let lastPushAt = 0;
  let timer: NodeJS.Timeout | undefined;
  /** The last status frame built, and whether the status changed since. */
  let last: { frame: Buffer; builtAt: number } | undefined;
  let changedSinceLast = false;
  /** Backlog limit; follows the size of the status frames. */
  let maxBacklog = MIN_BACKLOG_BYTES;

  /** One status() and one JSON.stringify, shared by every client it is written to. */
  const statusFrame = (): Buffer => {
    const frame = Buffer.from(`event: status\ndata: ${JSON.stringify(provider.status())}\n\n`);
    last = { frame, builtAt: Date.now() };
    changedSinceLast = false;
    maxBacklog = Math.max(MIN_BACKLOG_BYTES, MAX_BACKLOG_FRAMES * frame.length);
    return frame;
  };
  /** A recent frame still serves when nothing changed since, or when a push brings the change soon. */
  const currentFrame = (): Buffer =>
    last && Date.now() - last.builtAt <= FRESH_FRAME_MS && (!changedSinceLast || timer !== undefined) ? last.frame : statusFrame();

  const broadcast = (frame: Buffer) => {
    for (const res of clients) {
      if (res.writableLength + frame.length > maxBacklog) {
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
    changedSinceLast = true;
    if (timer !== undefined || clients.size === 0) return;
    timer = setTimeout(push, Math.max(0, lastPushAt + opts.minIntervalMs - Date.now()));
  });
  const heartbeat = setInterval(() => broadcast(Buffer.from(`event: heartbeat\ndata: ${Date.now()}\n\n`)), opts.heartbeatMs);
  heartbeat.unref();

  return {
    attach(req, res) {
      if (clients.size >= maxClients) {
        const body = `too many live status streams (${maxClients}); poll /api/status instead\n`;
        res.writeHead(503, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          'retry-after': String(RETRY_AFTER_S),
        });
        res.end(body);
        return;
      }
      const frame = currentFrame();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and similar proxies would otherwise hold events back in their buffer.
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n\n');
      res.write(frame);
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
      last = undefined;
    },
  };
}
