import { describe, expect, it } from 'vitest';
import { scanRegisters, scanUnits } from '../../src/adapters/modbus/scan.js';
import type { UnitLink } from '../../src/adapters/modbus/link.js';
import { sleep } from '../../src/core/clock.js';
import type { RegisterScanResult, UnitScanResult } from '../../src/core/commission.js';
import { WarpClock } from '../helpers/clocks.js';

/** A line of fake units on a warp clock: each answers after its round trip, or is silent until the timeout. */
function fakeLine(clock: WarpClock, units: Record<number, { rttMs: number; exception?: number; has?: (address: number) => boolean }>) {
  const calls: { unitId: number; start: number; count: number; timeoutMs: number; at: number }[] = [];
  const link: UnitLink = {
    async read(unitId, _area, start, count, timeoutMs) {
      calls.push({ unitId, start, count, timeoutMs, at: clock.now() });
      const unit = units[unitId];
      if (!unit) {
        await sleep(clock, timeoutMs);
        throw new Error('Timed out');
      }
      await sleep(clock, unit.rttMs);
      const missing = unit.has && Array.from({ length: count }, (_, i) => start + i).some((a) => !unit.has!(a));
      if (unit.exception !== undefined || missing) throw Object.assign(new Error('exception'), { modbusCode: unit.exception ?? 2 });
      return Array.from({ length: count }, (_, i) => start + i);
    },
    async close() {},
  };
  return { link, calls };
}

const collect = <R>() => {
  const results: R[] = [];
  const progress: { done: number; total: number; etaMs?: number }[] = [];
  const report = {
    results: (rs: R[]): void => {
      results.push(...rs);
    },
    progress: (done: number, total: number, etaMs?: number): void => {
      progress.push({ done, total, etaMs });
    },
  };
  return { results, progress, report };
};

describe('scanUnits', () => {
  it('waits the full timeout until a unit answers, then a few times the slowest round trip seen', async () => {
    const clock = new WarpClock();
    const { link, calls } = fakeLine(clock, { 3: { rttMs: 40 }, 7: { rttMs: 60, exception: 2 }, 9: { rttMs: 5, exception: 11 } });
    const c = collect<UnitScanResult>();
    await scanUnits(link, { clock, signal: new AbortController().signal, from: 1, to: 10, maxTimeoutMs: 500 }, c.report);
    expect(calls.map((x) => x.timeoutMs)).toEqual([500, 500, 500, 200, 200, 200, 200, 300, 300, 300]);
    expect(c.results.filter((r) => r.present)).toEqual([
      { unitId: 3, present: true, rttMs: 40 },
      // An exception is an answer: the unit is there.
      { unitId: 7, present: true, exception: 2, rttMs: 60 },
    ]);
    // 11 from a gateway: nothing behind it.
    expect(c.results.find((r) => r.unitId === 9)).toEqual({ unitId: 9, present: false, exception: 11 });
    expect(c.progress.at(-1)).toEqual({ done: 10, total: 10, etaMs: 0 });
  });

  it('keeps the timeout within its floor and the device timeout', async () => {
    const clock = new WarpClock();
    const { link, calls } = fakeLine(clock, { 1: { rttMs: 1 }, 3: { rttMs: 400 } });
    await scanUnits(link, { clock, signal: new AbortController().signal, from: 1, to: 4, maxTimeoutMs: 500 }, collect<UnitScanResult>().report);
    expect(calls.map((x) => x.timeoutMs)).toEqual([500, 150, 150, 500]);
  });

  it('stops between requests when aborted', async () => {
    const clock = new WarpClock();
    const { link, calls } = fakeLine(clock, {});
    const abort = new AbortController();
    const c = collect<UnitScanResult>();
    c.report.progress = () => {
      if (calls.length === 2) abort.abort();
    };
    await scanUnits(link, { clock, signal: abort.signal, from: 1, to: 247, maxTimeoutMs: 100 }, c.report);
    expect(calls).toHaveLength(2);
  });
});

describe('scanRegisters', () => {
  const run = async (has: (a: number) => boolean, scan: { from: number; to: number; block?: number; ratePerS?: number }) => {
    const clock = new WarpClock();
    const { link, calls } = fakeLine(clock, { 1: { rttMs: 10, has } });
    const c = collect<RegisterScanResult>();
    await scanRegisters(link, { unitId: 1, area: 'holding', timeoutMs: 500, ratePerS: 10, ...scan }, { clock, signal: new AbortController().signal }, c.report);
    return { calls, ...c };
  };

  it('halves a block refused with exception 2 down to the addresses that answer, and says each one that does not', async () => {
    const { results, calls } = await run((a) => a !== 5, { from: 0, to: 15, block: 16 });
    expect(results.filter((r) => r.exception === 2).map((r) => r.address)).toEqual([5]);
    expect(results.filter((r) => r.value !== undefined).map((r) => r.address)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    // 0-15 → 0-7 (refused) → 0-3, 4-7 (refused) → 4-5 (refused) → 4, 5 (refused), then 6-7, 8-15.
    expect(calls.map((x) => `${x.start}+${x.count}`)).toEqual(['0+16', '0+8', '0+4', '4+4', '4+2', '4+1', '5+1', '6+2', '8+8']);
  });

  it('reads dense ranges in blocks of at most 125 registers, no faster than the rate, with a falling ETA', async () => {
    const { calls, progress, results } = await run(() => true, { from: 0, to: 499, ratePerS: 4 });
    expect(calls.map((x) => x.count)).toEqual([125, 125, 125, 125]);
    const gaps = calls.slice(1).map((x, i) => x.at - calls[i].at);
    expect(gaps.every((g) => g >= 250)).toBe(true);
    expect(results).toHaveLength(500);
    expect(progress.map((p) => p.etaMs)).toEqual([1000, 750, 500, 250, 0]);
  });

  it('refuses more addresses than the cap, saying it', async () => {
    await expect(run(() => true, { from: 0, to: 4000 })).rejects.toMatchObject({
      code: 'SFG_COMMISSION_SCAN_TOO_BIG',
      message: expect.stringMatching(/at most 4000 addresses per scan \(asked 4001\)/),
    });
  });
});
