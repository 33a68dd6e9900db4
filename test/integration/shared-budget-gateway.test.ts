/**
 * The real gateway (in process) with `prodsmart.sharedBudget` on a real, password-protected
 * redis-server, a simulated PLC and the MES sandbox: it takes part in the company budget,
 * shows it on /api/status, /metrics and /healthz, keeps delivering on its fallback share
 * while Redis is gone, and comes back by itself; the MES gets every count exactly once. And
 * when Redis last answered is kept in its database, so that a restart while still cut off
 * continues on 1/min rather than on its full fallback share.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { openDatabase } from '../../src/outbox/db.js';
import { KvTime } from '../../src/outbox/kv-time.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startOneMachine } from '../helpers/one-machine.js';
import { writeConfig } from '../helpers/config-files.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';
import { parseExposition } from '../helpers/web-prometheus.js';
import { healthOf } from '../helpers/web-server.js';

const PASSWORD = 'Redis-Secret-4711';

describe('a gateway on the company budget', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('shows the shared budget, delivers on its fallback share while Redis is down, and rejoins; every count arrives once', async () => {
    const redis = await startRedisServer({ password: PASSWORD });
    defer(redis.cleanup);
    const { yaml, sim, mes } = await startOneMachine(defer);
    let count = 10;
    sim.set('M1', 'count', count);
    const cfg = writeConfig(dir, {
      mesUrl: mes.url,
      devices: { plc: yaml },
      requestsPerMinute: 30,
      sharedBudget: { redis: `redis://:\${REDIS_PASSWORD}@127.0.0.1:${redis.port}`, key: 'acme', requestsPerMinute: 115 },
    });
    const config = loadConfig(cfg.gatewayFile, { env: { ...process.env, REDIS_PASSWORD: PASSWORD } });
    const gateway = await Gateway.start({ config, logger: pino({ level: process.env.SFG_TEST_LOG ?? 'silent' }) });
    defer(() => gateway.stop());
    const health = healthOf(gateway.url);
    const status = async () => (await (await fetch(new URL('/api/status', gateway.url))).json()) as { budget: { shared?: Record<string, unknown> } };
    const delivered = (what: string) =>
      eventually(
        () => mes.state.M1?.count,
        (c) => c === count,
        20_000,
        what,
      );

    await eventually(
      () => gateway.view.status().machines[0]?.totals.count?.total,
      (t) => t === 10,
      20_000,
      'first read',
    );
    sim.set('M1', 'count', ++count);
    await delivered('first count');
    const joined = await eventually(
      status,
      (s) => s.budget.shared?.state === 'shared' && s.budget.shared.companyUsedLastMinute !== undefined,
      10_000,
      'on the shared budget',
    );
    expect(joined.budget.shared).toMatchObject({
      key: 'acme',
      redis: `redis://127.0.0.1:${redis.port}`,
      companyPerMinute: 115,
      companyLimit: 115,
      fallbackPerMinute: 30,
      gateways: 1,
      fallbackSharesPerMinute: 30,
    });
    const metrics = parseExposition(await (await fetch(new URL('/metrics', gateway.url))).text());
    expect(metrics.value('shopfloor_shared_budget_fallback')).toBe(0);
    expect(metrics.value('shopfloor_shared_budget_gateways')).toBe(1);
    expect(metrics.value('shopfloor_shared_budget_company_limit')).toBe(115);
    // Nothing kept free: no other gateway was ever heard of.
    expect(metrics.value('shopfloor_shared_budget_reserved')).toBe(0);
    expect(metrics.value('shopfloor_shared_budget_fallback_shares')).toBe(30);
    expect(await health()).toEqual({ status: 200, body: 'ok\n' });

    await redis.kill();
    sim.set('M1', 'count', ++count);
    await delivered('a count while Redis is down');
    const down = await eventually(health, (h) => h.body.startsWith('degraded'), 10_000, 'degraded');
    expect(down.status).toBe(200);
    expect(down.body).toMatch(/on the fallback share of 30\/min .*\(SFG_BUDGET_UNREACHABLE\)/);
    const fallback = await status();
    expect(fallback.budget.shared).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_UNREACHABLE', sharePerMinute: 30 });
    expect(parseExposition(await (await fetch(new URL('/metrics', gateway.url))).text()).value('shopfloor_shared_budget_fallback')).toBe(1);

    await redis.restart();
    await eventually(health, (h) => h.body === 'ok\n', 15_000, 'back on the shared budget');
    sim.set('M1', 'count', ++count);
    await delivered('a count after Redis came back');
    const all = JSON.stringify(await status()) + (await (await fetch(new URL('/metrics', gateway.url))).text());
    expect(all).not.toContain(PASSWORD);
    expect(mes.state.M1.count).toBe(count);
  });

  it('restarted while Redis is still down, continues from when Redis last answered it (in its database): 14 min on, it trickles and says so', async () => {
    const redis = await startRedisServer();
    defer(redis.cleanup);
    const { yaml, mes } = await startOneMachine(defer);
    const cfg = writeConfig(dir, {
      mesUrl: mes.url,
      devices: { plc: yaml },
      requestsPerMinute: 30,
      sharedBudget: { redis: `redis://127.0.0.1:${redis.port}`, key: 'acme', requestsPerMinute: 115 },
    });
    const config = loadConfig(cfg.gatewayFile);
    const logger = pino({ level: process.env.SFG_TEST_LOG ?? 'silent' });
    const before = Date.now();
    const first = await Gateway.start({ config, logger });
    await eventually(
      () => first.view.status().budget.shared?.state,
      (s) => s === 'shared',
      10_000,
      'on the shared budget',
    );
    await first.stop();
    await redis.stop();
    const db = openDatabase(config.gateway.storage.path);
    const answeredAt = new KvTime(db, 'budget.answeredAt');
    // Written at the first answer (and at stop), not once a beat.
    expect(answeredAt.get()).toBeGreaterThanOrEqual(before);
    expect(answeredAt.get()).toBeLessThanOrEqual(Date.now());
    // As if it had been down 14 min since.
    answeredAt.put(Date.now() - 14 * 60_000);
    db.close();

    const again = await Gateway.start({ config, logger });
    defer(() => again.stop());
    const shared = await eventually(
      () => again.view.status().budget.shared,
      (s) => s?.state === 'fallback',
      10_000,
      'on the fallback share',
    );
    expect(shared).toMatchObject({ fallbackStep: 'trickle', sharePerMinute: 1, reason: 'SFG_BUDGET_UNREACHABLE' });
    const health = await healthOf(again.url)();
    expect(health.status).toBe(503);
    expect(health.body).toContain('sending 1 request per minute instead of its fallback share of 30/min');
    expect(health.body).toContain('reconnect this gateway to Redis, or remove prodsmart.sharedBudget and re-divide the shares');
    const metrics = parseExposition(await (await fetch(new URL('/metrics', again.url))).text());
    expect(metrics.value('shopfloor_shared_budget_fallback_step', { step: 'trickle' })).toBe(1);
    expect(metrics.value('shopfloor_shared_budget_fallback_step', { step: 'share' })).toBe(0);
  });
});
