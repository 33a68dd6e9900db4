import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventHub } from '../../src/web/events.js';
import { fixtureProvider } from '../helpers/web-fixture.js';

/** A response that records what was written, and a request that can be closed. */
function client() {
  const req = new EventEmitter();
  const frames: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    writeHead: () => res,
    write: (chunk: string) => frames.push(chunk),
    end: () => {},
    destroy: vi.fn(),
    writableLength: 0,
  });
  const statusEvents = () => frames.filter((f) => f.includes('event: status')).length;
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse, raw: res, frames, statusEvents, close: () => req.emit('close') };
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
});
