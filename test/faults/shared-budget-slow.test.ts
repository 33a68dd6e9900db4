/**
 * Fault suite, issue 10 (test/helpers/shared-budget-faults.ts): Redis answers every gateway
 * 1 s late. Each falls back (after its second of timeouts in a row) instead of waiting, says
 * why, keeps delivering, and returns once Redis answers in time; no 429, no minute over the
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
    'Redis slow (1 s answers): every gateway falls back instead of waiting, and returns once Redis answers in time',
    async () => {
      const fleet = await startFleet({ dir, machines: MACHINES, fallbackPerMinute: FALLBACK, companyPerMinute: COMPANY, defer });
      await fleet.waitState('shared');
      for (const g of fleet.gateways) await g.plant.polled();
      const production = fleet.produce({ everyMs: 1000, maxRounds: 600 });
      defer(() => production.stop());
      await pause(FAULT_MS / 2);
      for (const g of fleet.gateways) g.link.slow(1000);
      await fleet.waitState('fallback');
      for (const g of fleet.gateways) await showsFallback(g, /^SFG_BUDGET_TIMEOUT$/);
      const from = Date.now();
      await pause(FAULT_MS);
      for (const g of fleet.gateways) expect(sentSince(fleet, g, from)).toBeGreaterThan(0);
      for (const g of fleet.gateways) g.link.slow(0);
      await fleet.waitState('shared');
      await pause(FAULT_MS / 2);
      await settle(fleet, production);
    },
    FAULT_TEST_MS,
  );
});
