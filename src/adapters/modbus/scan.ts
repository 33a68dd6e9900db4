/**
 * Commissioning's Modbus discovery over a UnitLink (link.ts, bus.ts): which unit ids answer
 * on a line, and which addresses of a unit's area answer. Reads only (FC 1–4), one request
 * at a time, bounded in time (timeouts, a request rate) and in size (MAX_SCAN_ADDRESSES).
 */
import { sleep, type Clock } from '../../core/clock.js';
import type { RegisterScanResult, UnitScanResult } from '../../core/commission.js';
import { GatewayError } from '../../core/errors.js';
import { isBitArea, type ModbusArea } from './decode.js';
import { modbusCode, type UnitLink } from './link.js';

/** What a scan tells as it goes: results as they come, progress with the expected time left. */
export interface ScanReport<R> {
  results(rs: R[]): void;
  progress(done: number, total: number, etaMs?: number): void;
}

export interface ScanRun {
  clock: Clock;
  /** Aborts between requests (the one on the wire ends within its timeout). */
  signal: AbortSignal;
}

/** A gateway's answers for a unit behind it that is not there. */
const ABSENT = new Set([10, 11]);
const ILLEGAL_ADDRESS = 2;
const ILLEGAL_VALUE = 3;

/** A unit's timeout from the slowest answer so far: `factor` × it, at least `floorMs` (scheduling jitter of a loaded gateway, a slow PLC). */
const UNIT_TIMEOUT = { floorMs: 150, factor: 5 } as const;

/**
 * Asks every unit id from `from` to `to` for holding register 0. Any answer, an exception
 * included, means present. Until a unit answers, each waits `maxTimeoutMs`; after that
 * UNIT_TIMEOUT.factor × the slowest round trip seen (at least floorMs, at most maxTimeoutMs).
 */
export async function scanUnits(
  link: UnitLink,
  o: ScanRun & { from: number; to: number; maxTimeoutMs: number },
  report: ScanReport<UnitScanResult>,
): Promise<void> {
  const total = o.to - o.from + 1;
  const began = o.clock.now();
  let slowest: number | undefined;
  for (let unitId = o.from; unitId <= o.to && !o.signal.aborted; unitId++) {
    const timeoutMs = slowest === undefined ? o.maxTimeoutMs : Math.min(o.maxTimeoutMs, Math.max(UNIT_TIMEOUT.floorMs, UNIT_TIMEOUT.factor * slowest));
    const sent = o.clock.now();
    let result: UnitScanResult;
    try {
      await link.read(unitId, 'holding', 0, 1, timeoutMs);
      result = { unitId, present: true, rttMs: o.clock.now() - sent };
    } catch (err) {
      const code = modbusCode(err);
      if (code === undefined) result = { unitId, present: false };
      else result = ABSENT.has(code) ? { unitId, present: false, exception: code } : { unitId, present: true, exception: code, rttMs: o.clock.now() - sent };
    }
    if (result.present && result.rttMs !== undefined) slowest = Math.max(slowest ?? 0, result.rttMs);
    report.results([result]);
    const done = unitId - o.from + 1;
    report.progress(done, total, eta(o.clock.now() - began, done, total));
  }
}

/** Addresses one register scan may cover: a job of minutes, not hours, at the slowest line. */
const MAX_SCAN_ADDRESSES = 4000;
/** Addresses per request at most: the protocol's limits (125 registers, 2000 bits) kept below. */
const MAX_BLOCK = { register: 125, bit: 1000 } as const;

export interface RegisterScan {
  unitId: number;
  area: ModbusArea;
  from: number;
  to: number;
  /** Addresses per request (default and most: MAX_BLOCK). */
  block?: number;
  timeoutMs: number;
  /** Requests per second at most. */
  ratePerS: number;
}

/**
 * Reads `from`..`to` of one area in blocks. A block refused with exception 2 (or 3, a
 * count the unit will not serve at once) is halved until the addresses that answer are
 * read and each one that does not is said; any other exception or a timeout is said for
 * every address of its block.
 */
export async function scanRegisters(link: UnitLink, s: RegisterScan, o: ScanRun, report: ScanReport<RegisterScanResult>): Promise<void> {
  const total = s.to - s.from + 1;
  if (total > MAX_SCAN_ADDRESSES) {
    throw new GatewayError('SFG_COMMISSION_SCAN_TOO_BIG', `at most ${MAX_SCAN_ADDRESSES} addresses per scan (asked ${total}): scan a smaller range`);
  }
  const maxBlock = isBitArea(s.area) ? MAX_BLOCK.bit : MAX_BLOCK.register;
  const block = Math.min(maxBlock, Math.max(1, s.block ?? maxBlock));
  const gapMs = 1000 / s.ratePerS;
  const pending: [start: number, count: number][] = [];
  for (let a = s.from; a <= s.to; a += block) pending.push([a, Math.min(block, s.to - a + 1)]);
  const began = o.clock.now();
  // Before the first answer: the dense case, a block per request at the rate.
  report.progress(0, total, Math.round(pending.length * gapMs));
  let done = 0;
  let lastSent: number | undefined;
  for (let next = pending.shift(); next && !o.signal.aborted; next = pending.shift()) {
    const [start, count] = next;
    if (lastSent !== undefined) {
      const wait = lastSent + gapMs - o.clock.now();
      if (wait > 0) await sleep(o.clock, wait, o.signal);
      if (o.signal.aborted) break;
    }
    lastSent = o.clock.now();
    const addresses = Array.from({ length: count }, (_, i) => start + i);
    let results: RegisterScanResult[];
    try {
      const data = await link.read(s.unitId, s.area, start, count, s.timeoutMs);
      results = addresses.map((address, i) => ({ address, value: data[i] }));
    } catch (err) {
      const code = modbusCode(err);
      if ((code === ILLEGAL_ADDRESS || code === ILLEGAL_VALUE) && count > 1) {
        const half = Math.ceil(count / 2);
        pending.unshift([start, half], [start + half, count - half]);
        continue;
      }
      results = addresses.map((address) => (code === undefined ? { address, timeout: true } : { address, exception: code }));
    }
    done += count;
    report.results(results);
    // No faster than the rate allows, however fast the first answers came.
    const paced = Math.ceil((total - done) / block) * gapMs;
    report.progress(done, total, Math.max(paced, eta(o.clock.now() - began, done, total) ?? 0));
  }
}

function eta(elapsedMs: number, done: number, total: number): number | undefined {
  return done === 0 ? undefined : Math.round((elapsedMs / done) * (total - done));
}
