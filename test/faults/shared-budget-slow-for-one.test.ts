/**
 * Fault suite, issue 10 (test/helpers/shared-budget-faults.ts): Redis slow for one gateway
 * alone — its link answers 1 s late, so its calls run in Redis but their answers come too
 * late. It sends on its fallback share and says so; its late joins do not make it live, so
 * the others keep its share free (and show it) until it rejoins by itself.
 */
import { describe, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startFleet } from '../helpers/gateway-fleet.js';
import { COMPANY, FALLBACK, FAULT_TEST_MS, MACHINES, oneCutOff } from '../helpers/shared-budget-faults.js';
import { tempDir } from '../helpers/tmp.js';

describe('fault suite: the shared budget when Redis fails', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it(
    'Redis slow for one gateway alone (its link answers 1 s late): it sends on its fallback share, the others leave room for it, and it rejoins',
    () =>
      oneCutOff(() => startFleet({ dir, machines: MACHINES, fallbackPerMinute: FALLBACK, companyPerMinute: COMPANY, defer }), {
        code: /^SFG_BUDGET_TIMEOUT$/,
        cut: (l) => l.slow(1000),
        mend: (l) => l.slow(0),
      }),
    FAULT_TEST_MS,
  );
});
