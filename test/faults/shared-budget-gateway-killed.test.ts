/**
 * Fault suite, issue 10 (test/helpers/shared-budget-faults.ts): a gateway SIGKILLed while its
 * machines wait. Its demand expires and the others take its share, less its fallback share,
 * which they keep free (Redis cannot tell a crash from a cut-off gateway) and show; restarted
 * on the same database it takes its entry back (no ghost). A gateway stopped cleanly
 * (SIGTERM) leaves at once: nothing is kept for it. Nothing lost or doubled throughout.
 */
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startFleet } from '../helpers/gateway-fleet.js';
import { COMPANY, FALLBACK, FAULT_MS, FAULT_TEST_MS, MACHINES, othersSee, pause, sentSince, settle } from '../helpers/shared-budget-faults.js';
import { tempDir } from '../helpers/tmp.js';

describe('fault suite: the shared budget when a gateway dies', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it(
    'a gateway killed while its machines wait: its demand expires, the others take its share less its fallback (kept and shown); back, it takes its entry again; one stopped cleanly keeps nothing',
    async () => {
      const fleet = await startFleet({ dir, machines: MACHINES, fallbackPerMinute: FALLBACK, companyPerMinute: COMPANY, defer });
      const [a, b, dead] = fleet.gateways;
      const alive = [a, b];
      await fleet.waitState('shared');
      for (const g of fleet.gateways) await g.plant.polled();
      const production = fleet.produce({ everyMs: 1000, maxRounds: 600 });
      defer(() => production.stop());
      await pause(FAULT_MS / 2);
      const before = Date.now();
      await pause(FAULT_MS);
      const aliveBefore = alive.reduce((n, g) => n + sentSince(fleet, g, before), 0);
      await dead.kill();
      const killedAt = Date.now();
      const limit = COMPANY - dead.fallbackPerMinute;
      const shares = await othersSee(
        alive,
        (s) => s.gateways === 2 && s.companyLimit === limit && s.reservedPerMinute === dead.fallbackPerMinute && s.gatewaysAway === 1,
        'the live gateways alone in the company budget, its fallback share kept and shown',
      );
      // Their shares now add up to what the company figure leaves, by their machines: 10 to 20.
      const sum = shares.reduce((n, s) => n + (s!.sharePerMinute ?? 0), 0);
      expect(sum).toBeGreaterThan(0.9 * limit);
      expect(sum).toBeLessThanOrEqual(limit);
      // The dead gateway's sends stay in the company's window for 62 s, beside its kept fallback
      // share: the others reach their new rate once enough of those sends left the window.
      await pause(killedAt + 25_000 - Date.now());
      const from = Date.now();
      await pause(1.5 * FAULT_MS);
      const aliveAfter = alive.reduce((n, g) => n + sentSince(fleet, g, from), 0);
      console.info(
        `shared-budget kill: live gateways sent ${aliveBefore} in ${FAULT_MS / 1000} s before, ${aliveAfter} in ${(1.5 * FAULT_MS) / 1000} s from 25 s after; shares ${sum}/${limit}`,
      );
      // A higher rate than before (the shares promise 83/min against about 49 before).
      expect(aliveAfter / 1.5).toBeGreaterThan(aliveBefore);

      // Back from the dead, on the same database: the same name in Redis, so no ghost is kept beside it.
      await dead.start();
      await fleet.waitState('shared');
      await othersSee(alive, (s) => s.gateways === 3 && s.companyLimit === COMPANY && s.reservedPerMinute === 0, 'the restarted gateway in its own entry');

      // Stopped cleanly (SIGTERM, as systemctl stop): it leaves, the others keep nothing for it.
      await a.process!.kill('SIGTERM');
      a.process = undefined;
      await othersSee(
        [b, dead],
        (s) => s.gateways === 2 && s.companyLimit === COMPANY && s.reservedPerMinute === 0,
        'the others with the whole company figure after a clean stop',
      );
      await a.start();
      await fleet.waitState('shared');
      await settle(fleet, production);
    },
    FAULT_TEST_MS,
  );
});
