/**
 * A real HTTP proxy on 127.0.0.1 between the gateway and the MES sandbox that breaks
 * requests on purpose, the way networks and MES front ends do. Faults come from a queue
 * (`inject`, taken first, in order) or else from a seeded random `policy`; every request
 * is logged with the fault it got, so a test can say how often each was injected.
 *
 * What reaches the sandbox is what the MES "took": `reset-after`, `delay` and
 * `garbage` forward the request first (the MES records it, the gateway hears nothing
 * useful); `reset-before` and `status` never forward. The sandbox's own faults (`setDown`,
 * `expireAll`) are used alongside, not copied here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, request } from 'undici';
import type { SeededRandom } from './seeded-random.js';

export type Fault =
  | { kind: 'pass' }
  /** Connection reset before anything is forwarded. */
  | { kind: 'reset-before' }
  /** Forwarded and answered by the MES, then the connection is reset: the gateway never hears. */
  | { kind: 'reset-after' }
  /** Forwarded at once; the answer is held back `ms` (above the gateway's timeoutMs = a timeout). */
  | { kind: 'delay'; ms: number }
  /** Answered by the proxy without forwarding (500, 429 with or without Retry-After, 401). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** 200 with a body that is no MES answer; `forward`: the MES took the request first. */
  | { kind: 'garbage'; forward: boolean };

type FaultKind = Fault['kind'];

interface ProxiedRequest {
  at: number;
  method: string;
  path: string;
  fault: Fault;
  /** Whether the request reached the sandbox. */
  forwarded: boolean;
}

/** Which requests a queued fault may hit; default: any machine endpoint (not token requests). */
type FaultTarget = (method: string, path: string) => boolean;
const machineEndpoint: FaultTarget = (_m, path) => path.startsWith('/api/machines/');

export interface FaultProxy {
  url: string;
  /** Oldest first. */
  requests: ProxiedRequest[];
  /** Queues faults for the next matching requests, in order. */
  inject(faults: Fault[], target?: FaultTarget): void;
  /** Faults for requests the queue does not cover; null = pass everything. */
  setPolicy(policy: ((r: SeededRandom) => Fault) | null): void;
  /** How many requests got each kind of fault. */
  tally(): Partial<Record<FaultKind, number>>;
  close(): Promise<void>;
}

const GARBAGE = '<html><body>Gateway Timeout — upstream said: \u0000\u00ff{"count":</body>';
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

export async function startFaultProxy(opts: { target: string; random: SeededRandom; clock?: () => number }): Promise<FaultProxy> {
  const now = opts.clock ?? Date.now;
  const upstream = new Agent({ keepAliveTimeout: 1000 });
  const queue: { fault: Fault; target: FaultTarget }[] = [];
  let policy: ((r: SeededRandom) => Fault) | null = null;
  const requests: ProxiedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const choose = (method: string, path: string): Fault => {
    const i = queue.findIndex((q) => q.target(method, path));
    if (i >= 0) return queue.splice(i, 1)[0].fault;
    return policy && machineEndpoint(method, path) ? policy(opts.random) : { kind: 'pass' };
  };

  async function forward(req: IncomingMessage, body: Buffer) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') headers[k] = v;
    const res = await request(opts.target + (req.url ?? '/'), {
      method: req.method as 'GET' | 'POST',
      headers,
      body: body.length > 0 ? body : undefined,
      dispatcher: upstream,
    });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') out[k] = v;
    return { status: res.statusCode, headers: out, body: await res.body.text() };
  }

  const later = (ms: number) =>
    new Promise<void>((resolve) => {
      const h = setTimeout(() => {
        timers.delete(h);
        resolve();
      }, ms);
      timers.add(h);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const fault = choose(req.method ?? 'GET', path);
    const entry: ProxiedRequest = { at: now(), method: req.method ?? 'GET', path, fault, forwarded: false };
    requests.push(entry);
    const reply = (status: number, headers: Record<string, string>, text: string) => {
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(text);
    };
    switch (fault.kind) {
      case 'reset-before':
        req.socket.resetAndDestroy();
        return;
      case 'status':
        return reply(fault.status, { 'content-type': 'text/plain', ...fault.headers }, fault.body ?? `injected ${fault.status}`);
      case 'garbage':
        if (fault.forward) {
          entry.forwarded = true;
          await forward(req, body);
        }
        return reply(200, { 'content-type': 'application/json' }, GARBAGE);
      default: {
        entry.forwarded = true;
        const answer = await forward(req, body);
        if (fault.kind === 'reset-after') return void req.socket.resetAndDestroy();
        if (fault.kind === 'delay') await later(fault.ms);
        return reply(answer.status, answer.headers, answer.body);
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The sandbox closed under us (test teardown): the gateway sees a reset, as from a real proxy.
      if (!res.destroyed) req.socket.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject(faults, target = machineEndpoint) {
      for (const fault of faults) queue.push({ fault, target });
    },
    setPolicy(p) {
      policy = p;
    },
    tally() {
      const out: Partial<Record<FaultKind, number>> = {};
      for (const r of requests) out[r.fault.kind] = (out[r.fault.kind] ?? 0) + 1;
      return out;
    },
    async close() {
      for (const h of timers) clearTimeout(h);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}
