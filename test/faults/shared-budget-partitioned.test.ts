/**
 * Fault suite, issue 10 (test/helpers/shared-budget-faults.ts): Redis partitioned from one
 * gateway only — nothing gets through its link. It sends on its fallback share and says so;
 * the others keep that share free (and show it) until it rejoins by itself.
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
    'Redis partitioned from one gateway (nothing gets through): it sends on its fallback share, the others leave room for it, and it rejoins',
    () =>
      oneCutOff(() => startFleet({ dir, machines: MACHINES, fallbackPerMinute: FALLBACK, companyPerMinute: COMPANY, defer }), {
        code: /^SFG_BUDGET_(TIMEOUT|UNREACHABLE)$/,
        cut: (l) => l.silence(),
        mend: (l) => l.restore(),
      }),
    FAULT_TEST_MS,
  );
});
