import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventHub } from '../../src/web/events.js';
import { fixtureProvider } from '../helpers/web-fixture.js';

/** A response that records what was written, and a request that can be closed. */
function client() {
  const req = new EventEmitter();
  const frames: string[] = [];
  /** Each Buffer written, to see whether clients share one. */
  const chunks: unknown[] = [];
  const answer = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = Object.assign(new EventEmitter(), {
    writeHead: (status: number, headers: Record<string, string> = {}) => {
      Object.assign(answer, { status, headers });
      return res;
    },
    write: (chunk: string | Buffer) => {
      chunks.push(chunk);
      return frames.push(String(chunk));
    },
    end: (body?: string) => {
      answer.body = body ?? '';
    },
    destroy: vi.fn(),
    writableLength: 0,
  });
  const statusEvents = () => frames.filter((f) => f.includes('event: status')).length;
  const statusChunks = () => chunks.filter((c) => String(c).includes('event: status'));
  return {
    req: req as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
    raw: res,
    frames,
    answer,
    statusEvents,
    statusChunks,
    close: () => req.emit('close'),
  };
}

const onError = () => {};

describe('event hub', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('sends the status on connect and coalesces changes to one push per interval', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const a = client();
    hub.attach(a.req, a.res);
    expect(a.statusEvents()).toBe(1);

    provider.update(() => {});
    vi.advanceTimersByTime(0);
    expect(a.statusEvents()).toBe(2);

    for (let i = 0; i < 10; i++) provider.update((s) => (s.outbox.pending = i));
    vi.advanceTimersByTime(999);
    expect(a.statusEvents()).toBe(2);
    vi.advanceTimersByTime(1);
    expect(a.statusEvents()).toBe(3);
    expect(JSON.parse(a.frames.at(-1)!.split('data: ')[1]).outbox.pending).toBe(9);
    hub.close();
  });

  it('pushes to every client and forgets closed ones', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const a = client();
    const b = client();
    hub.attach(a.req, a.res);
    hub.attach(b.req, b.res);
    b.close();
    provider.update(() => {});
    vi.advanceTimersByTime(0);
    expect(a.statusEvents()).toBe(2);
    expect(b.statusEvents()).toBe(1);
    hub.close();
  });

  it('sends heartbeats and stops everything on close', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const a = client();
    hub.attach(a.req, a.res);
    vi.advanceTimersByTime(30_000);
    expect(a.frames.filter((f) => f.startsWith('event: heartbeat'))).toHaveLength(2);
    hub.close();
    provider.update(() => {});
    vi.advanceTimersByTime(30_000);
    expect(a.frames.filter((f) => f.startsWith('event: heartbeat'))).toHaveLength(2);
    expect(a.statusEvents()).toBe(1);
  });

  it('drops a client that stopped reading, keeps the others', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const asleep = client();
    const awake = client();
    hub.attach(asleep.req, asleep.res);
    hub.attach(awake.req, awake.res);
    asleep.raw.writableLength = 5 * 1024 * 1024;
    provider.update(() => {});
    vi.advanceTimersByTime(0);
    expect(asleep.raw.destroy).toHaveBeenCalledOnce();
    expect(asleep.statusEvents()).toBe(1);
    expect(awake.statusEvents()).toBe(2);
    hub.close();
  });

  it('reports a failing provider instead of throwing from the timer', () => {
    const provider = fixtureProvider();
    const errors: unknown[] = [];
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError: (e) => errors.push(e) });
    const a = client();
    hub.attach(a.req, a.res);
    vi.spyOn(provider, 'status').mockImplementation(() => {
      throw new Error('database is locked');
    });
    provider.update(() => {});
    vi.advanceTimersByTime(0);
    expect(errors).toEqual([new Error('database is locked')]);
    hub.close();
  });

  it('answers 503 with Retry-After beyond 16 streams, and takes one again after a stream ends', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const open = Array.from({ length: 16 }, () => client());
    for (const c of open) hub.attach(c.req, c.res);
    expect(open.every((c) => c.answer.status === 200 && c.statusEvents() === 1)).toBe(true);

    const extra = client();
    hub.attach(extra.req, extra.res);
    expect(extra.answer.status).toBe(503);
    expect(Number(extra.answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(extra.answer.body).toContain('/api/status');
    expect(extra.frames).toEqual([]);

    // A refused client gets no pushes either.
    provider.update(() => {});
    vi.advanceTimersByTime(1000);
    expect(extra.frames).toEqual([]);
    expect(open[15].statusEvents()).toBe(2);

    open[0].close();
    const again = client();
    hub.attach(again.req, again.res);
    expect(again.answer.status).toBe(200);
    expect(again.statusEvents()).toBe(1);
    hub.close();
  });

  it('takes its stream limit from maxClients', () => {
    const hub = createEventHub(fixtureProvider(), { minIntervalMs: 1000, heartbeatMs: 15_000, maxClients: 1, onError });
    const [a, b] = [client(), client()];
    hub.attach(a.req, a.res);
    hub.attach(b.req, b.res);
    expect([a.answer.status, b.answer.status]).toEqual([200, 503]);
    hub.close();
  });

  it('builds one status frame per push for all clients, and hands a fresh one to new clients', () => {
    const provider = fixtureProvider();
    const status = vi.spyOn(provider, 'status');
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const clients = Array.from({ length: 10 }, () => client());
    for (const c of clients) {
      hub.attach(c.req, c.res);
      vi.advanceTimersByTime(50);
    }
    // Ten clients within half a second of each other: one status() for all.
    expect(status).toHaveBeenCalledTimes(1);

    provider.update((s) => (s.outbox.pending = 42));
    vi.advanceTimersByTime(1000);
    expect(status).toHaveBeenCalledTimes(2);
    for (const c of clients) expect(JSON.parse(c.frames.at(-1)!.split('data: ')[1]).outbox.pending).toBe(42);
    // The very same Buffer went to every client: its bytes are held once, however many wait for it.
    const pushed = clients.map((c) => c.statusChunks().at(-1));
    expect(pushed.every((chunk) => chunk === pushed[0])).toBe(true);

    // Fresh (1 s at most) and unchanged: reused.
    const late = client();
    hub.attach(late.req, late.res);
    expect(status).toHaveBeenCalledTimes(2);
    expect(late.statusChunks()[0]).toBe(pushed[0]);

    // Older than 1 s: built again.
    vi.advanceTimersByTime(1001);
    const later = client();
    hub.attach(later.req, later.res);
    expect(status).toHaveBeenCalledTimes(3);
    hub.close();
  });

  it('does not hand out a recent frame that misses a change no push will bring', () => {
    const provider = fixtureProvider();
    const status = vi.spyOn(provider, 'status');
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const a = client();
    hub.attach(a.req, a.res);
    a.close();
    // No client is left, so this change schedules no push.
    provider.update((s) => (s.outbox.pending = 42));
    const b = client();
    hub.attach(b.req, b.res);
    expect(status).toHaveBeenCalledTimes(2);
    expect(JSON.parse(b.frames.at(-1)!.split('data: ')[1]).outbox.pending).toBe(42);

    // With a push on its way the recent frame serves, and the push follows.
    provider.update((s) => (s.outbox.pending = 43));
    const c = client();
    hub.attach(c.req, c.res);
    expect(status).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    expect(JSON.parse(c.frames.at(-1)!.split('data: ')[1]).outbox.pending).toBe(43);
    hub.close();
  });

  it('drops a client once about two status frames wait for it', () => {
    const provider = fixtureProvider();
    const hub = createEventHub(provider, { minIntervalMs: 1000, heartbeatMs: 15_000, onError });
    const slow = client();
    const behind = client();
    hub.attach(slow.req, slow.res);
    hub.attach(behind.req, behind.res);
    const frameBytes = Buffer.byteLength(slow.frames.at(-1)!);
    // Status frames of this fixture are small: the floor of 64 KiB applies.
    expect(frameBytes).toBeLessThan(32 * 1024);
    slow.raw.writableLength = 64 * 1024 - frameBytes; // the next frame just fits
    behind.raw.writableLength = 64 * 1024 - frameBytes + 1;
    provider.update(() => {});
    vi.advanceTimersByTime(0);
    expect(slow.raw.destroy).not.toHaveBeenCalled();
    expect(behind.raw.destroy).toHaveBeenCalledOnce();

    // A large status (about 1 MB, as with 30 machines): the limit is two of its frames.
    provider.update((s) => (s.config.errors = ['x'.repeat(1024 * 1024)]));
    vi.advanceTimersByTime(1000);
    const big = Buffer.byteLength(slow.frames.at(-1)!);
    expect(big).toBeGreaterThan(1024 * 1024);
    slow.raw.writableLength = big - 1; // almost a whole frame unsent: one more still fits
    provider.update((s) => (s.config.errors = ['y'.repeat(1024 * 1024)]));
    vi.advanceTimersByTime(1000);
    expect(slow.raw.destroy).not.toHaveBeenCalled();
    slow.raw.writableLength = big + 1; // more than one frame behind: the next one would pass two
    provider.update((s) => (s.config.errors = ['z'.repeat(1024 * 1024)]));
    vi.advanceTimersByTime(1000);
    expect(slow.raw.destroy).toHaveBeenCalledOnce();
    hub.close();
  });
});
