/**
 * Fault suite, issue 10 (test/helpers/shared-budget-faults.ts): Redis down when the three
 * gateways start. Each starts on its fallback share, delivers within it, says so in
 * /api/status, /healthz and the log, and joins once Redis is up; no 429, no minute over the
 * company figure, every total exact.
 */
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startFleet } from '../helpers/gateway-fleet.js';
import { COMPANY, FALLBACK, FAULT_MS, FAULT_TEST_MS, MACHINES, pause, sentSince, settle, showsFallback } from '../helpers/shared-budget-faults.js';
import { tempDir } from '../helpers/tmp.js';

describe('fault suite: the shared budget when Redis fails', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it(
    'Redis down at start: every gateway starts on its fallback share, delivers within it, and joins once Redis is up',
    async () => {
      const fleet = await startFleet({ dir, machines: MACHINES, fallbackPerMinute: FALLBACK, companyPerMinute: COMPANY, redisUp: false, defer });
      await fleet.waitState('fallback');
      for (const g of fleet.gateways) await showsFallback(g, /^SFG_BUDGET_UNREACHABLE$/);
      for (const g of fleet.gateways) await g.plant.polled();
      const production = fleet.produce({ everyMs: 1000, maxRounds: 600 });
      defer(() => production.stop());
      const from = Date.now();
      await pause(FAULT_MS);
      for (const g of fleet.gateways) {
        expect(sentSince(fleet, g, from)).toBeGreaterThan(0);
        expect(fleet.mes.busiestMinute((r) => r.path.startsWith(`/api/machines/${g.name}`))).toBeLessThanOrEqual(g.fallbackPerMinute);
      }
      await fleet.redis.restart();
      await fleet.waitState('shared');
      for (const g of fleet.gateways) expect((await g.health()).status).toBe(200);
      await pause(FAULT_MS / 2);
      await settle(fleet, production);
    },
    FAULT_TEST_MS,
  );
});
