import { describe, expect, it } from 'vitest';
import { LoginThrottle, THROTTLE_POLICY } from '../../src/web/login-throttle.js';
import { ManualClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';

const MIN = 60_000;

function throttle() {
  const clock = new ManualClock();
  const log = recordingLogger();
  return { clock, ...log, t: new LoginThrottle(clock, log.logger) };
}

/** A client that waits out each lockout and fails again: the lockout it gets after each failure. */
function lockoutsWhenWaiting(n: number) {
  const { clock, t } = throttle();
  const locks: number[] = [];
  for (let i = 0; i < n; i++) {
    clock.advance(t.lockedFor('10.0.0.9'));
    expect(t.lockedFor('10.0.0.9')).toBe(0);
    t.failed('10.0.0.9');
    locks.push(t.lockedFor('10.0.0.9'));
  }
  return locks;
}

describe('login throttle', () => {
  it('lets five wrong tokens through, then locks the address out for twice as long each time, up to 15 min', () => {
    expect(lockoutsWhenWaiting(17)).toEqual([
      0,
      0,
      0,
      0,
      1000,
      2000,
      4000,
      8000,
      16_000,
      32_000,
      64_000,
      128_000,
      256_000,
      512_000,
      15 * MIN,
      15 * MIN,
      15 * MIN,
    ]);
  });

  it('locks out only the address that failed', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.failed('10.0.0.9');
    expect(t.lockedFor('10.0.0.9')).toBe(1000);
    expect(t.lockedFor('10.0.0.10')).toBe(0);
  });

  it('starts over after the right token', () => {
    const { t } = throttle();
    for (let i = 0; i < 7; i++) t.failed('10.0.0.9');
    t.succeeded('10.0.0.9');
    expect(t.lockedFor('10.0.0.9')).toBe(0);
    for (let i = 0; i < 4; i++) t.failed('10.0.0.9');
    expect(t.lockedFor('10.0.0.9')).toBe(0);
  });

  it('forgets an address after an hour without a wrong token', () => {
    const { clock, t } = throttle();
    for (let i = 0; i < 12; i++) t.failed('10.0.0.9');
    clock.advance(THROTTLE_POLICY.forgetMs);
    t.failed('10.0.0.9');
    expect(t.lockedFor('10.0.0.9')).toBe(0);
  });

  it('remembers at most maxClients addresses, forgetting the one that failed longest ago', () => {
    const clock = new ManualClock();
    const t = new LoginThrottle(clock, recordingLogger().logger, { ...THROTTLE_POLICY, maxClients: 2 });
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.3']) for (let i = 0; i < 5; i++) t.failed(a);
    expect(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => t.lockedFor(a) > 0)).toEqual([true, false, true]);
  });

  it('logs the first wrong token of an address at once and the rest as one summary line per 5 min, never one per try', () => {
    const { clock, t, lines } = throttle();
    t.failed('10.0.0.9');
    expect(lines('web.login_failed')).toEqual([expect.objectContaining({ level: 40, remote: '10.0.0.9' })]);

    // 3000 tries in well under a second from one address, 4 from another.
    for (let i = 1; i < 3000; i++) {
      if (t.lockedFor('10.0.0.9') === 0) t.failed('10.0.0.9');
      clock.advance(0.2);
    }
    for (let i = 0; i < 4; i++) t.failed('10.0.0.20');
    expect(lines('web.login_failed')).toHaveLength(2);

    clock.advance(5 * MIN);
    const summary = lines('web.login_failed')[2];
    expect(summary).toMatchObject({ level: 40, summary: true, wrong: 4 + 3, locked: 2995, addresses: 2 });
    expect(summary.byAddress).toEqual({ '10.0.0.9': { wrong: 4, locked: 2995 }, '10.0.0.20': { wrong: 3, locked: 0 } });

    // Nothing new, no line; the next summary covers only what came after the last.
    clock.advance(30 * MIN);
    expect(lines('web.login_failed')).toHaveLength(3);
    t.failed('10.0.0.20');
    clock.advance(5 * MIN);
    expect(lines('web.login_failed')[3]).toMatchObject({ wrong: 1, locked: 0, byAddress: { '10.0.0.20': { wrong: 1, locked: 0 } } });
  });

  it('logs an address that alternates right and wrong tokens once a period, not once per wrong token', () => {
    const { clock, t, lines } = throttle();
    for (let i = 0; i < 20; i++) {
      t.failed('10.0.0.9');
      t.succeeded('10.0.0.9');
      clock.advance(15_000);
    }
    expect(lines('web.login_failed')).toHaveLength(2);
    expect(lines('web.login_failed')[1]).toMatchObject({ summary: true, wrong: 19 });
  });

  it('names at most 20 addresses a period, however many fail, and still counts them all', () => {
    const { clock, t, lines } = throttle();
    for (let i = 0; i < 500; i++) t.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(lines('web.login_failed')).toHaveLength(20);
    clock.advance(5 * MIN);
    const summary = lines('web.login_failed')[20];
    expect(summary).toMatchObject({ summary: true, wrong: 480, addresses: 480 });
    expect(Object.keys(summary.byAddress as object)).toHaveLength(20);
  });

  it('writes what is not yet reported on close and leaves no timer behind', () => {
    const { clock, t, lines } = throttle();
    for (let i = 0; i < 3; i++) t.failed('10.0.0.9');
    t.close();
    expect(lines('web.login_failed').at(-1)).toMatchObject({ summary: true, wrong: 2 });
    expect(clock.pending()).toEqual([]);
  });
});
