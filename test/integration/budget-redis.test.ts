/**
 * The shared budget's Redis connection (src/uplink/budget-redis.ts) through a real
 * redis-server: a failure says what happened in a stable code, the one the status page
 * and /healthz show (docs/rate-budget.md#several-gateways).
 */
import { describe, expect, it } from 'vitest';
import { connectBudgetRedis } from '../../src/uplink/budget-redis.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startSilentLink } from '../helpers/tcp-link.js';

describe('budget Redis connection', () => {
  const defer = deferCleanup();

  it('a connection lost while a call is on its way is "unreachable", not an error Redis answered', async () => {
    const redis = await startRedisServer();
    defer(() => redis.cleanup());
    const link = await startSilentLink(redis.port);
    defer(() => link.close());
    const budget = await connectBudgetRedis({
      url: `redis://127.0.0.1:${link.port}`,
      key: 'acme',
      gateway: 'g1',
      spanMs: 62_000,
      limit: 115,
      lapseMs: 3_000,
      reserveMs: 900_000,
      graceMs: 3_000,
      forgetMs: 604_800_000,
    });
    defer(() => budget.close());
    await budget.run('join', [30, 0]);
    link.silence();
    const call = budget.run('beat', [5]);
    // The link resets the held connection well within the command timeout (300 ms).
    await new Promise((r) => setTimeout(r, 50));
    link.restore();
    await expect(call).rejects.toMatchObject({ code: 'SFG_BUDGET_UNREACHABLE' });
  });
});
