import { describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/web/sessions.js';
import { ManualClock } from '../helpers/clocks.js';

const H = 3600_000;

describe('status page sessions', () => {
  it('gives each login its own unguessable id', () => {
    const store = new SessionStore(new ManualClock());
    const ids = new Set(Array.from({ length: 50 }, () => store.start()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.use('not-a-session')).toBe(false);
  });

  it('ends a session 12 h after login however busy it is', () => {
    const clock = new ManualClock();
    const store = new SessionStore(clock);
    const id = store.start();
    for (let i = 0; i < 23; i++) {
      clock.advance(H / 2);
      expect(store.use(id), `after ${(i + 1) / 2} h`).toBe(true);
    }
    clock.advance(H / 2);
    expect(store.use(id)).toBe(false);
  });

  it('ends a session unused for an hour, and each use moves that on', () => {
    const clock = new ManualClock();
    const store = new SessionStore(clock);
    const used = store.start();
    const idle = store.start();
    clock.advance(H - 1000);
    expect(store.use(used)).toBe(true);
    clock.advance(2000);
    expect(store.use(used)).toBe(true);
    expect(store.use(idle)).toBe(false);
    // Once expired it stays expired.
    expect(store.use(idle)).toBe(false);
  });

  it('ends a session on logout', () => {
    const store = new SessionStore(new ManualClock());
    const id = store.start();
    const other = store.start();
    store.end(id);
    expect(store.use(id)).toBe(false);
    expect(store.use(other)).toBe(true);
  });

  it('keeps at most maxSessions, ending the oldest login first', () => {
    const store = new SessionStore(new ManualClock(), { maxAgeMs: 12 * H, idleMs: H, maxSessions: 3 });
    const ids = Array.from({ length: 4 }, () => store.start());
    expect(ids.map((id) => store.use(id))).toEqual([false, true, true, true]);
  });
});
