/** Starts the status web server on a free loopback port over the fixture provider. */
import { connect, type Socket } from 'node:net';
import { startWebServer, type WebServerOptions } from '../../src/web/server.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { recordingLogger } from './log-lines.js';
import { fixtureProvider } from './web-fixture.js';

export async function startFixtureServer(
  opts: { status?: GatewayStatus } & Partial<
    Pick<WebServerOptions, 'token' | 'heartbeatMs' | 'eventsMinIntervalMs' | 'maxEventClients' | 'clock' | 'commission'>
  > = {},
) {
  const { status, ...rest } = opts;
  const provider = fixtureProvider(status);
  /** `logs`: every log line the server wrote, as JSON text; `lines(event)` parsed. */
  const { logger, logs, lines } = recordingLogger();
  const web = await startWebServer({ listen: '127.0.0.1:0', provider, logger, ...rest });
  return { provider, web, logs, lines };
}

export interface ServerEvent {
  event: string;
  data: string;
}

/** Reads /api/events frame by frame. */
export async function openEvents(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(new URL('/api/events', url), { headers, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`/api/events answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';

  /** The next event named `name`; earlier events of other names are skipped. At most 100 frames. */
  async function next(name = 'status'): Promise<ServerEvent> {
    for (let i = 0; i < 100; i++) {
      const frame = await readFrame();
      if (frame.event === name) return frame;
    }
    throw new Error(`no "${name}" event in 100 frames`);
  }

  async function readFrame(): Promise<ServerEvent> {
    for (let chunks = 0; chunks < 10_000; chunks++) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = raw.split('\n');
        const field = (f: string) => lines.filter((l) => l.startsWith(`${f}: `)).map((l) => l.slice(f.length + 2));
        return { event: field('event')[0] ?? (raw.startsWith('retry:') ? 'retry' : 'message'), data: field('data').join('\n') };
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error('event stream ended');
      buffer += chunk.value;
    }
    throw new Error('no complete event in 10000 chunks');
  }

  return { res, next, close: () => controller.abort() };
}

/**
 * Sends `lines` (request line and headers, joined with CRLF, plus `Connection: close`) as they are,
 * which fetch cannot: a foreign Host header, a malformed request target. Resolves with the answer.
 */
export async function rawRequest(url: string, lines: string[], body = ''): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    const head = [...lines, 'Connection: close', ...(body ? [`Content-Length: ${Buffer.byteLength(body)}`] : [])];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
  const end = text.indexOf('\r\n\r\n');
  const headers = text.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? NaN);
  return { status, headers, body: text.slice(end + 4) };
}

/**
 * Opens `n` sockets from `localAddress` (any 127.x address is another client on Linux) that
 * send half a request and then nothing, as a slow or hostile client does.
 */
export async function openSlowSockets(url: string, n: number, localAddress: string) {
  const { hostname, port } = new URL(url);
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect({ port: Number(port), host: hostname, localAddress }, () => {
            socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`);
            resolve(socket);
          });
          // The server destroys a refused socket at once, which may reset it before it connected.
          socket.once('close', () => closed++);
          socket.on('error', () => resolve(socket));
        }),
    ),
  );
  return {
    closed: () => closed,
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** Reads /healthz of a status server (e.g. a real gateway's). */
export function healthOf(url: string) {
  return async () => {
    const res = await fetch(`${url.replace(/\/$/, '')}/healthz`);
    return { status: res.status, body: await res.text() };
  };
}
