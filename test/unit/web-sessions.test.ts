import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/web/sessions.js';
import { ManualClock } from '../helpers/clocks.js';

const H = 3600_000;

/** One short request on session `id`: the time it has left, 0 when it is not valid. */
function request(store: SessionStore, id: string): number {
  const left = store.requestStarted(id);
  if (left > 0) store.requestEnded(id);
  return left;
}

describe('status page sessions', () => {
  it('gives each login its own unguessable id', () => {
    const store = new SessionStore(new ManualClock());
    const ids = new Set(Array.from({ length: 50 }, () => store.create()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request(store, 'not-a-session')).toBe(0);
  });

  it('ends a session 12 h after login however busy it is, and tells how long it has left', () => {
    const clock = new ManualClock();
    const store = new SessionStore(clock);
    const id = store.create();
    for (let i = 0; i < 23; i++) {
      clock.advance(H / 2);
      expect(request(store, id), `after ${(i + 1) / 2} h`).toBe(12 * H - ((i + 1) * H) / 2);
    }
    clock.advance(H / 2);
    expect(request(store, id)).toBe(0);
  });

  it('ends a session unused for an hour, and each use moves that on', () => {
    const clock = new ManualClock();
    const store = new SessionStore(clock);
    const used = store.create();
    const idle = store.create();
    clock.advance(H - 1000);
    expect(request(store, used)).toBeGreaterThan(0);
    clock.advance(2000);
    expect(request(store, used)).toBeGreaterThan(0);
    expect(request(store, idle)).toBe(0);
    // Once expired it stays expired.
    expect(request(store, idle)).toBe(0);
  });

  it('is not idle while a request is open (the page event stream), and the idle hour runs from its end', () => {
    const clock = new ManualClock();
    const store = new SessionStore(clock);
    const id = store.create();
    expect(store.requestStarted(id)).toBe(12 * H);
    clock.advance(3 * H);
    expect(request(store, id)).toBe(9 * H);
    store.requestEnded(id);
    clock.advance(H - 1);
    expect(request(store, id)).toBeGreaterThan(0);
    clock.advance(H);
    expect(request(store, id)).toBe(0);
  });

  it('ends a session on logout', () => {
    const store = new SessionStore(new ManualClock());
    const id = store.create();
    const other = store.create();
    store.end(id);
    expect(request(store, id)).toBe(0);
    expect(request(store, other)).toBeGreaterThan(0);
  });

  it('keeps at most maxSessions, ending the oldest login first', () => {
    const store = new SessionStore(new ManualClock(), { maxAgeMs: 12 * H, idleMs: H, maxSessions: 3 });
    const ids = Array.from({ length: 4 }, () => store.create());
    expect(ids.map((id) => request(store, id) > 0)).toEqual([false, true, true, true]);
  });
});
