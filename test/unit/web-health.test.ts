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

  it("says degraded when the gateways' fallback shares add up to more than the company figure: Redis gone for all would exceed it", () => {
    const s = fixtureStatus(now);
    onFallback(0)(s);
    s.budget.shared = { ...s.budget.shared!, state: 'shared', reason: undefined, fallbackSharesPerMinute: 115 };
    expect(healthDegraded(s)).toEqual([]);
    s.budget.shared.fallbackSharesPerMinute = 130;
    expect(healthProblems(s)).toEqual([]);
    expect(healthDegraded(s)).toEqual([
      "the fallback shares (prodsmart.requestsPerMinute) of the gateways on acme add up to 130/min, more than the company's 115/min: with Redis down for all they would exceed it; lower them",
    ]);
  });

  it('stays healthy on its fallback share however long, as long as the others keep it free (the step, not the time, decides)', () => {
    const s = fixtureStatus(now);
    onFallback(16 * MIN)(s);
    s.budget.shared!.fallbackStep = 'share';
    expect(healthProblems(s)).toEqual([]);
    expect(healthDegraded(s)).toHaveLength(1);
  });

  it('is unhealthy once it trickles (1/min: the others no longer keep its share free), saying what a person must do', () => {
    const trickling = (s: GatewayStatus) => {
      onFallback(14 * MIN)(s);
      Object.assign(s.budget.shared!, { fallbackStep: 'trickle', sharePerMinute: 1, answeredAt: now - 14 * MIN });
    };
    expect(withChange(trickling)).toEqual([
      'sending 1 request per minute instead of its fallback share of 30/min: the company budget on redis://10.0.0.5:6379 has not answered for 14 min (SFG_BUDGET_UNREACHABLE) and the other gateways no longer keep its share free; reconnect this gateway to Redis, or remove prodsmart.sharedBudget and re-divide the shares (with Redis down for every gateway, every gateway is on this)',
    ]);
    const s = fixtureStatus(now);
    trickling(s);
    expect(healthDegraded(s)).toEqual([]);
  });

  it('is unhealthy once it stopped sending, counting from when Redis last answered (before a restart too)', () => {
    expect(
      withChange((s) => {
        onFallback(5_000)(s);
        Object.assign(s.budget.shared!, { fallbackStep: 'stopped', sharePerMinute: 0, answeredAt: now - 7 * 24 * 60 * MIN });
      }),
    ).toEqual([
      'sending stopped (the outbox keeps everything): the company budget on redis://10.0.0.5:6379 has not answered for 168 h (SFG_BUDGET_UNREACHABLE) and the other gateways no longer keep its share free; reconnect this gateway to Redis, or remove prodsmart.sharedBudget and re-divide the shares (with Redis down for every gateway, every gateway is on this)',
    ]);
  });

  it("is unhealthy at once when Redis's certificate is not trusted: a person must give the gateway the CA", () => {
    expect(
      withChange((s) => {
        onFallback(5_000)(s);
        s.budget.shared!.reason = 'SFG_BUDGET_TLS';
      }),
    ).toEqual([
      "on the fallback share of 30/min for 5 s: company budget on redis://10.0.0.5:6379 unavailable (SFG_BUDGET_TLS); give the gateway the CA of Redis's certificate with NODE_EXTRA_CA_CERTS",
    ]);
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
