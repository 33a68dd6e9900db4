/**
 * The plant and checks of the shared-budget fault suite (test/faults/shared-budget-*.test.ts,
 * issue 10): three real gateway processes with 10, 20 and 40 machines, one MES sandbox at
 * 120/min, company figure 115, fallback shares 8 + 16 + 32 as the README divides them (half
 * each gateway's part by machines). One fault per file, so that vitest runs them in parallel
 * workers. FAULTS_LONG=1 (npm run test:faults) holds each fault three times as long.
 */
import { expect } from 'vitest';
import type { SharedBudgetStatus } from '../../src/core/status.js';
import type { Fleet, FleetGateway } from './gateway-fleet.js';
import type { SilentLink } from './tcp-link.js';
import { eventually } from './wait.js';

const LONG = process.env.FAULTS_LONG === '1';
export const MACHINES = [10, 20, 40];
/** As the README says: about half of the company figure divided by machines. */
export const FALLBACK = [8, 16, 32];
export const COMPANY = 115;
/** How long each fault lasts, in ms of real time. */
export const FAULT_MS = (LONG ? 3 : 1) * 20_000;
/** One fault test's bound: start, the fault, the drain. */
export const FAULT_TEST_MS = 300_000;

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops the production, waits for every total, and checks what the MES saw over the whole run. */
export async function settle(fleet: Fleet, production: { stop(): Promise<void> }): Promise<void> {
  await production.stop();
  await eventually(
    () => fleet.differences(),
    (d) => d.length === 0,
    150_000,
    'every MES total equal to its PLC',
  );
  const { mes } = fleet;
  expect(mes.requests.filter((r) => r.status === 429)).toEqual([]);
  expect(mes.busiestMinute()).toBeLessThanOrEqual(COMPANY);
  expect(fleet.runStopProblems()).toEqual([]);
}

/** Requests for a gateway's machines that arrived at the MES since `from`. */
export const sentSince = (fleet: Fleet, g: FleetGateway, from: number) => fleet.requestsOf(g).filter((r) => r.at >= from).length;

/** A gateway on its fallback share says why in /api/status and /healthz, and in the log. */
export async function showsFallback(g: FleetGateway, code: RegExp): Promise<void> {
  const s = (await g.status()).budget.shared!;
  expect(s).toMatchObject({ state: 'fallback', sharePerMinute: g.fallbackPerMinute });
  expect(s.reason).toMatch(code);
  expect((await g.health()).body).toMatch(/fallback/i);
  await g.process!.waitForLog((l) => l.event === 'budget.fallback' && code.test(String(l.code)));
}

/** Resolves with the others' shared status once each sees what `ok` asks (bounded). */
export function othersSee(others: FleetGateway[], ok: (s: SharedBudgetStatus) => boolean, what: string) {
  return eventually(
    () => Promise.all(others.map(async (g) => (await g.status()).budget.shared)),
    (s) => s.every((b) => b !== undefined && ok(b)),
    20_000,
    what,
  );
}

/**
 * Redis cut off from the gateway with the most machines only (`cut`, then `mend`): it sends on
 * its fallback share and says so, the others keep that share free (and show it), it rejoins.
 */
export async function oneCutOff(start: () => Promise<Fleet>, o: { code: RegExp; cut: (l: SilentLink) => void; mend: (l: SilentLink) => void }): Promise<void> {
  const fleet = await start();
  // The gateway with the most machines: the others could otherwise fill the window it still sends into.
  const off = fleet.gateways[2];
  const others = fleet.gateways.slice(0, 2);
  await fleet.waitState('shared');
  for (const g of fleet.gateways) await g.plant.polled();
  const production = fleet.produce({ everyMs: 1000, maxRounds: 600 });
  try {
    await pause(FAULT_MS / 2);
    o.cut(off.link);
    await fleet.waitState('fallback', [off]);
    await showsFallback(off, o.code);
    // The others still share, keep its fallback share out of the company's figure, and say so.
    await othersSee(
      others,
      (b) => b.state === 'shared' && b.companyLimit === COMPANY - off.fallbackPerMinute && b.reservedPerMinute === off.fallbackPerMinute,
      'the others keeping room for the gateway on its fallback share',
    );
    const from = Date.now();
    await pause(FAULT_MS);
    expect(sentSince(fleet, off, from)).toBeGreaterThan(0);
    o.mend(off.link);
    await fleet.waitState('shared');
    await pause(FAULT_MS / 2);
    await settle(fleet, production);
  } finally {
    await production.stop();
  }
}
