/** The rule that settles an uncertain run/stop from the MES's downtimes (docs/delivery.md#uncertain-outcome). */
import { describe, expect, it } from 'vitest';
import { downtimeQuery, laterDowntimesQuery, parseDowntimes, transitionArrived, type Downtime } from '../../src/uplink/downtimes.js';

const at = Date.parse('2026-12-01T10:00:00.000Z');
const dt = (start: number, end?: number, machines = ['M1']): Downtime => ({ start, ...(end === undefined ? {} : { end }), machines });

describe('transitionArrived', () => {
  it('a stop arrived iff a downtime of the machine started since the attempt, 2 s of clock skew allowed', () => {
    expect(transitionArrived('M1', 0, at, [dt(at + 150)])).toBe(true);
    expect(transitionArrived('M1', 0, at, [dt(at - 2000)])).toBe(true);
    expect(transitionArrived('M1', 0, at, [dt(at - 2001)])).toBe(false);
    expect(transitionArrived('M1', 0, at, [])).toBe(false);
  });

  it('a downtime of another machine proves nothing', () => {
    expect(transitionArrived('M1', 0, at, [dt(at + 10, undefined, ['M2'])])).toBe(false);
    expect(transitionArrived('M1', 1, at, [dt(at - 60_000, at + 10, ['M2'])])).toBe(false);
  });

  it('a start arrived iff a downtime of the machine ended since the attempt; an open one is not ended', () => {
    expect(transitionArrived('M1', 1, at, [dt(at - 60_000, at + 300)])).toBe(true);
    expect(transitionArrived('M1', 1, at, [dt(at - 60_000)])).toBe(false);
    expect(transitionArrived('M1', 1, at, [dt(at - 60_000, at - 5000)])).toBe(false);
    // A stop opened after the attempt is no proof of a start.
    expect(transitionArrived('M1', 1, at, [dt(at + 100)])).toBe(false);
  });
});

describe("transitionArrived: only the machine's newest downtime is proof (transitions less than 2 s apart)", () => {
  it('a stop: a downtime that started within the allowance but was closed since is the one before it', () => {
    expect(transitionArrived('M1', 0, at, [dt(at - 1500, at - 800)])).toBe(false);
    expect(transitionArrived('M1', 0, at, [dt(at - 1500, at - 800), dt(at + 100)])).toBe(true);
    // Another machine's open downtime after it changes nothing.
    expect(transitionArrived('M1', 0, at, [dt(at - 1500, at - 800), dt(at + 100, undefined, ['M2'])])).toBe(false);
  });

  it('a start: a downtime that ended within the allowance is the one before it when a later one is still open', () => {
    expect(transitionArrived('M1', 1, at, [dt(at - 5000, at - 1500), dt(at - 700)])).toBe(false);
    expect(transitionArrived('M1', 1, at, [dt(at - 5000, at - 1500), dt(at - 700, at + 200)])).toBe(true);
  });

  it('with equal starts (stamps in whole seconds) the open downtime is the newest, else the one that ended last', () => {
    expect(transitionArrived('M1', 1, at, [dt(at - 1000, at - 1000), dt(at - 1000)])).toBe(false);
    expect(transitionArrived('M1', 1, at, [dt(at - 1000), dt(at - 1000, at - 1000)])).toBe(false);
    expect(transitionArrived('M1', 0, at, [dt(at - 1000, at - 1000), dt(at - 1000)])).toBe(true);
    expect(transitionArrived('M1', 1, at, [dt(at - 1000, at - 1500), dt(at - 1000, at)])).toBe(true);
  });
});

describe('laterDowntimesQuery', () => {
  it('for a start, asks for what the machine started since its newest downtime that ended; nothing for a stop or when none ended', () => {
    const found = [dt(at - 9000, at - 1000), dt(at - 4000, at - 500), dt(at - 100, at + 50, ['M2'])];
    expect(laterDowntimesQuery(1, 'M1', found)).toEqual({ 'start-time-after': new Date(at - 4000).toISOString() });
    expect(laterDowntimesQuery(1, 'M1', [])).toBeUndefined();
    expect(laterDowntimesQuery(0, 'M1', found)).toBeUndefined();
  });
});

describe('downtimeQuery', () => {
  it('asks for downtimes started (stop) or ended (start) since 2 s before the attempt, as ISO dates', () => {
    expect(downtimeQuery(0, at)).toEqual({ 'start-time-after': '2026-12-01T09:59:58.000Z' });
    expect(downtimeQuery(1, at)).toEqual({ 'end-time-after': '2026-12-01T09:59:58.000Z' });
  });
});

describe('parseDowntimes', () => {
  it('reads start, end (null or absent = open) and machine codes', () => {
    const body = JSON.stringify([
      { id: 1, 'start-time': '2026-12-01T10:00:01Z', 'end-time': null, machines: [{ code: 'M1', name: 'Press' }] },
      { id: 2, 'start-time': '2026-12-01T09:00:00Z', 'end-time': '2026-12-01T09:30:00Z', machines: [{ code: 'M2' }, { code: 'M3' }] },
      { id: 3, 'start-time': '2026-12-01T08:00:00Z', machines: [] },
    ]);
    expect(parseDowntimes(body)).toEqual([
      { start: at + 1000, machines: ['M1'] },
      { start: Date.parse('2026-12-01T09:00:00Z'), end: Date.parse('2026-12-01T09:30:00Z'), machines: ['M2', 'M3'] },
      { start: Date.parse('2026-12-01T08:00:00Z'), machines: [] },
    ]);
  });

  it('an answer that is not a list of downtimes is no answer (a proxy page, a cut body, bad dates)', () => {
    expect(parseDowntimes('<html>portal</html>')).toBeUndefined();
    expect(parseDowntimes('[{"id":1,"start-time":"2026-12-01T10:00')).toBeUndefined();
    expect(parseDowntimes('{"downtimes":[]}')).toBeUndefined();
    expect(parseDowntimes(JSON.stringify([{ 'start-time': 'yesterday', machines: [] }]))).toBeUndefined();
    expect(parseDowntimes(JSON.stringify([{ 'start-time': '2026-12-01T10:00:00Z', 'end-time': 'soon', machines: [] }]))).toBeUndefined();
    expect(parseDowntimes(JSON.stringify([{ 'start-time': '2026-12-01T10:00:00Z' }]))).toBeUndefined();
    expect(parseDowntimes('[]')).toEqual([]);
  });
});
