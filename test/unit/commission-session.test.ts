import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeGrant, writeGrant } from '../../src/web/commission/grant.js';
import { CommissionSessions } from '../../src/web/commission/session.js';
import { ManualClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';

const MIN = 60_000;

describe('commissioning window and sessions', () => {
  const dir = tempDir();

  it('is off until a grant is written', () => {
    const sessions = new CommissionSessions(dir, new ManualClock());
    expect(sessions.window()).toBeUndefined();
    expect(sessions.exchange('anything')).toEqual({ refused: 'SFG_COMMISSION_OFF' });
    expect(sessions.session('x')).toEqual({ refused: 'SFG_COMMISSION_OFF' });
  });

  it('keeps only the token hash, in a file only the gateway user can read', () => {
    const clock = new ManualClock();
    const { token } = writeGrant(dir, clock.now(), 60);
    const file = join(dir, 'grant.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('exchanges the token once for a session with its own CSRF token', () => {
    const clock = new ManualClock();
    const { token } = writeGrant(dir, clock.now(), 60);
    const sessions = new CommissionSessions(dir, clock);
    expect(sessions.exchange('wrong')).toEqual({ refused: 'SFG_COMMISSION_TOKEN' });
    const started = sessions.exchange(token);
    if ('refused' in started) throw new Error(started.refused);
    expect(started.expiresAt).toBe(clock.now() + 60 * MIN);
    expect(started.csrf).not.toBe(started.id);
    expect(sessions.session(started.id)).toMatchObject({ csrf: started.csrf, expiresAt: started.expiresAt });
    // Once: also for a gateway restarted since (a new store reads the same grant).
    expect(sessions.exchange(token)).toEqual({ refused: 'SFG_COMMISSION_TOKEN' });
    expect(new CommissionSessions(dir, clock).exchange(token)).toEqual({ refused: 'SFG_COMMISSION_TOKEN' });
    expect(sessions.session('not-a-session')).toEqual({ refused: 'SFG_COMMISSION_SESSION' });
  });

  it('ends by itself when the window expires', () => {
    const clock = new ManualClock();
    const { token } = writeGrant(dir, clock.now(), 30);
    const sessions = new CommissionSessions(dir, clock);
    const started = sessions.exchange(token);
    if ('refused' in started) throw new Error(started.refused);
    clock.advance(30 * MIN - 1);
    expect(sessions.session(started.id)).not.toHaveProperty('refused');
    clock.advance(1);
    expect(sessions.session(started.id)).toEqual({ refused: 'SFG_COMMISSION_OFF' });
    expect(sessions.window()).toBeUndefined();
  });

  it('ends the sessions of a window that a new grant replaced or --close removed', () => {
    const clock = new ManualClock();
    const sessions = new CommissionSessions(dir, clock);
    const first = sessions.exchange(writeGrant(dir, clock.now(), 60).token);
    if ('refused' in first) throw new Error(first.refused);
    const second = sessions.exchange(writeGrant(dir, clock.now(), 60).token);
    if ('refused' in second) throw new Error(second.refused);
    expect(sessions.session(first.id)).toEqual({ refused: 'SFG_COMMISSION_SESSION' });
    expect(sessions.session(second.id)).not.toHaveProperty('refused');
    removeGrant(dir);
    expect(sessions.session(second.id)).toEqual({ refused: 'SFG_COMMISSION_OFF' });
  });
});
