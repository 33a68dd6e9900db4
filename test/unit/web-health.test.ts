import { describe, expect, it } from 'vitest';
import { healthDegraded, healthProblems } from '../../src/web/health.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { fixtureStatus } from '../helpers/web-fixture.js';

const now = Date.UTC(2025, 0, 6, 8, 0, 0);
const MIN = 60_000;

function withChange(change: (s: GatewayStatus) => void): string[] {
  const s = fixtureStatus(now);
  change(s);
  return healthProblems(s);
}

describe('healthProblems', () => {
  it('is healthy for a working gateway with a dead letter and one device down', () => {
    expect(withChange(() => {})).toEqual([]);
  });

  it('tolerates the MES unreachable for up to a minute, then reports it', () => {
    expect(withChange((s) => Object.assign(s.mes, { reachable: false, lastOkAt: now - 50_000 }))).toEqual([]);
    expect(withChange((s) => Object.assign(s.mes, { reachable: false, lastOkAt: now - 2 * MIN, lastError: 'HTTP 503' }))).toEqual([
      'MES unreachable for 120 s: HTTP 503',
    ]);
  });

  it('counts an MES never reached from the start of the gateway', () => {
    const problems = withChange((s) => Object.assign(s.mes, { reachable: false, lastOkAt: undefined }));
    expect(problems[0]).toMatch(/^MES unreachable for 11400 s/);
  });

  it('keeps an unknown MES (no request yet) and a rate-limit pause healthy', () => {
    expect(withChange((s) => Object.assign(s.mes, { reachable: null, lastOkAt: undefined }))).toEqual([]);
    expect(withChange((s) => Object.assign(s.mes, { pausedUntil: now + 30_000 }))).toEqual([]);
  });

  it('reports a 429 pause longer than 5 min, with what the MES asked when it was cut', () => {
    const pause = (askedMs: number, length: number) => (s: GatewayStatus) => {
      Object.assign(s.mes, { pausedUntil: now + length / 2, rateLimit: { since: now - length / 2, until: now + length / 2, askedMs, capMs: 15 * MIN } });
    };
    expect(withChange(pause(5 * MIN, 5 * MIN))).toEqual([]);
    expect(withChange(pause(99_999_000, 15 * MIN))).toEqual([
      'sending paused by the MES (429) until 2025-01-06T08:07:30.000Z (it asked for 99999 s, cut to 15 min)',
    ]);
    expect(withChange(pause(10 * MIN, 10 * MIN))).toEqual(['sending paused by the MES (429) until 2025-01-06T08:05:00.000Z']);
    // Over: healthy again even before the next answer clears it.
    expect(withChange((s) => Object.assign(s.mes, { rateLimit: { since: now - 20 * MIN, until: now - 5 * MIN, askedMs: 15 * MIN, capMs: 15 * MIN } }))).toEqual(
      [],
    );
  });

  it('reports refused credentials at once', () => {
    expect(withChange((s) => (s.mes.authProblem = 'HTTP 401 with Basic auth'))).toEqual([
      'MES refused the credentials, sending stopped: HTTP 401 with Basic auth',
    ]);
  });

  it('reports no device connected, after a start-up grace', () => {
    const allDown = (s: GatewayStatus) => {
      for (const d of s.devices) d.state = 'disconnected';
    };
    expect(withChange(allDown)[0]).toMatch(/^no device connected: press-plc-1 \(disconnected\), line2-opcua \(disconnected: connect ECONNREFUSED/);
    expect(
      withChange((s) => {
        allDown(s);
        s.startedAt = now - 30_000;
      }),
    ).toEqual([]);
  });

  it('reports configuration errors', () => {
    expect(withChange((s) => (s.config.errors = ['a.yaml:1:1 x: y', 'b.yaml:2:2 z: w']))).toEqual([
      'configuration reload failed, the previous configuration keeps running: a.yaml:1:1 x: y; b.yaml:2:2 z: w',
    ]);
  });

  it('reports an outbox whose oldest item waits more than 15 minutes', () => {
    expect(withChange((s) => (s.outbox.oldestPendingAt = now - 14 * MIN))).toEqual([]);
    expect(withChange((s) => (s.outbox.oldestPendingAt = now - 20 * MIN))).toEqual(['outbox stuck: the oldest of 3 pending items has waited 20 min']);
  });

  it('reports a full or damaged database first, with its path', () => {
    const problems = withChange((s) => {
      s.storage = { path: '/var/lib/sfg/gateway.db', state: 'full', since: now - MIN, lastError: 'database or disk is full', failures: 40 };
      s.outbox.oldestPendingAt = now - 20 * MIN;
    });
    expect(problems[0]).toBe('storage full: /var/lib/sfg/gateway.db (database or disk is full)');
    expect(withChange((s) => (s.storage = { path: '/x.db', state: 'corrupt', lastError: 'database disk image is malformed' }))).toEqual([
      'storage corrupt: /x.db (database disk image is malformed)',
    ]);
  });
});

describe('the shared budget in /healthz', () => {
  const onFallback = (forMs: number) => (s: GatewayStatus) => {
    s.budget.shared = {
      key: 'acme',
      redis: 'redis://10.0.0.5:6379',
      state: 'fallback',
      reason: 'SFG_BUDGET_UNREACHABLE',
      since: now - forMs,
      companyPerMinute: 115,
      fallbackPerMinute: 30,
    };
  };

  it('says degraded, still healthy, while on the fallback share, naming the Redis (without password) and why', () => {
    const s = fixtureStatus(now);
    onFallback(90_000)(s);
    expect(healthProblems(s)).toEqual([]);
    expect(healthDegraded(s)).toEqual([
      'on the fallback share of 30/min for 90 s: company budget on redis://10.0.0.5:6379 unavailable (SFG_BUDGET_UNREACHABLE)',
    ]);
    const joined = fixtureStatus(now);
    joined.budget.shared = { ...s.budget.shared!, state: 'shared', reason: undefined };
    expect(healthDegraded(joined)).toEqual([]);
  });

  it('is unhealthy after 15 min on the fallback share, when the others stop keeping its share free', () => {
    expect(withChange(onFallback(16 * MIN))).toEqual([
      'on the fallback share of 30/min for 960 s: company budget on redis://10.0.0.5:6379 unavailable (SFG_BUDGET_UNREACHABLE); the other gateways no longer keep its share free',
    ]);
    const s = fixtureStatus(now);
    onFallback(16 * MIN)(s);
    expect(healthDegraded(s)).toEqual([]);
  });

  it('is unhealthy at once when Redis refuses the password: that does not mend itself', () => {
    const refused = (s: GatewayStatus) => {
      onFallback(5_000)(s);
      s.budget.shared!.reason = 'SFG_BUDGET_AUTH';
    };
    expect(withChange(refused)).toEqual([
      'on the fallback share of 30/min for 5 s: company budget on redis://10.0.0.5:6379 unavailable (SFG_BUDGET_AUTH); fix the password in prodsmart.sharedBudget.redis',
    ]);
  });
});
