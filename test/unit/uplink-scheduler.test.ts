import { describe, expect, it } from 'vitest';
import { RoundRobinScheduler, type Candidate } from '../../src/uplink/scheduler.js';
import type { Lane } from '../../src/core/lanes.js';

const none = new Set<string>();
const machines = Array.from({ length: 50 }, (_, i) => `M${String(i).padStart(2, '0')}`);
const all = (lane: Lane): Candidate[] => machines.map((machine) => ({ machine, lane }));

describe('RoundRobinScheduler', () => {
  it('serves startstop before counter before parameters', () => {
    const s = new RoundRobinScheduler();
    const c: Candidate[] = [
      { machine: 'A', lane: 'parameters' },
      { machine: 'B', lane: 'counter' },
      { machine: 'C', lane: 'startstop' },
    ];
    expect(s.pick(c, none)).toEqual({ machine: 'C', lane: 'startstop' });
    expect(s.pick(c.slice(0, 2), none)).toEqual({ machine: 'B', lane: 'counter' });
    expect(s.pick(c.slice(0, 1), none)).toEqual({ machine: 'A', lane: 'parameters' });
    expect(s.pick([], none)).toBeUndefined();
  });

  it('serves each of 50 machines once per 50 picks when all are pending', () => {
    const s = new RoundRobinScheduler();
    // Pending order shuffled: fairness must not depend on the order the outbox lists them.
    const pending = all('counter').sort((a, b) => (a.machine.charCodeAt(2) % 7) - (b.machine.charCodeAt(2) % 7));
    for (let round = 0; round < 3; round++) {
      const served = Array.from({ length: 50 }, () => s.pick(pending, none)!.machine);
      expect(new Set(served).size).toBe(50);
    }
  });

  it('keeps turns per lane: a burst of startstops does not reset the counter rotation', () => {
    const s = new RoundRobinScheduler();
    expect(s.pick(all('counter'), none)!.machine).toBe('M00');
    expect(s.pick(all('counter'), none)!.machine).toBe('M01');
    expect(s.pick([...all('counter'), { machine: 'M40', lane: 'startstop' }], none)!.machine).toBe('M40');
    expect(s.pick(all('counter'), none)!.machine).toBe('M02');
  });

  it('does not let an always-pending machine starve the others', () => {
    const s = new RoundRobinScheduler();
    const pending = new Set(['A']);
    const waits: number[] = [];
    const since = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      // A always has work; B and C get new work every 4th pick and keep it until served.
      for (const m of ['B', 'C']) {
        if (i % 4 === 0 && !pending.has(m)) {
          pending.add(m);
          since.set(m, i);
        }
      }
      const m = s.pick(
        [...pending].map((machine) => ({ machine, lane: 'counter' as const })),
        none,
      )!.machine;
      if (m === 'A') continue;
      pending.delete(m);
      waits.push(i - since.get(m)!);
    }
    expect(waits).toHaveLength(30);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2);
  });

  it('serves a machine skipped while busy as soon as it is free, ahead of those served since', () => {
    const s = new RoundRobinScheduler();
    const c = ['A', 'B', 'C', 'D'].map((machine) => ({ machine, lane: 'counter' as const }));
    expect(s.pick(c, none)!.machine).toBe('A');
    expect(s.pick(c, new Set(['B']))!.machine).toBe('C');
    expect(s.pick(c, none)!.machine).toBe('B');
    expect(s.pick(c, none)!.machine).toBe('D');
  });

  it('skips busy machines, falling through to a lower lane when a whole lane is busy', () => {
    const s = new RoundRobinScheduler();
    const c: Candidate[] = [
      { machine: 'A', lane: 'startstop' },
      { machine: 'A', lane: 'counter' },
      { machine: 'B', lane: 'counter' },
      { machine: 'C', lane: 'parameters' },
    ];
    expect(s.pick(c, new Set(['A']))).toEqual({ machine: 'B', lane: 'counter' });
    expect(s.pick(c, new Set(['A', 'B']))).toEqual({ machine: 'C', lane: 'parameters' });
    expect(s.pick(c, new Set(['A', 'B', 'C']))).toBeUndefined();
  });

  it('serves a newly pending machine within one rotation', () => {
    const s = new RoundRobinScheduler();
    const c = all('counter').slice(10, 20);
    for (let i = 0; i < 5; i++) s.pick(c, none);
    const withNew = [...c, { machine: 'M00', lane: 'counter' as const }];
    const served = Array.from({ length: 11 }, () => s.pick(withNew, none)!.machine);
    expect(served).toContain('M00');
    expect(new Set(served).size).toBe(11);
  });
});

describe('RoundRobinScheduler under a budget saturated by counters', () => {
  it('still serves a waiting parameters-only machine every eleventh pick', () => {
    const s = new RoundRobinScheduler();
    const pending: Candidate[] = [...all('counter'), { machine: 'IDLE', lane: 'parameters' }];
    const picks = Array.from({ length: 33 }, () => s.pick(pending, none)!);
    const params = picks.map((p, i) => (p.lane === 'parameters' ? i : -1)).filter((i) => i >= 0);
    expect(params).toEqual([10, 21, 32]);
    // Run/stop still goes first, even when parameters have waited their ten picks.
    for (let i = 0; i < 10; i++) expect(s.pick(pending, none)!.lane).toBe('counter');
    expect(s.pick([...pending, { machine: 'M07', lane: 'startstop' }], none)).toEqual({ machine: 'M07', lane: 'startstop' });
  });
});

describe('RoundRobinScheduler under a budget saturated by run/stop', () => {
  it('still gives counters every fifth pick, in turn, and run/stop the rest', () => {
    const s = new RoundRobinScheduler();
    const pending: Candidate[] = [...all('startstop'), ...all('counter')];
    const picks = Array.from({ length: 20 }, () => s.pick(pending, none)!);
    const counters = picks.map((p, i) => (p.lane === 'counter' ? i : -1)).filter((i) => i >= 0);
    expect(counters).toEqual([4, 9, 14, 19]);
    expect(picks.filter((p) => p.lane === 'counter').map((p) => p.machine)).toEqual(['M00', 'M01', 'M02', 'M03']);
    // A lone transition after the counters had their turn goes first again.
    expect(
      s.pick(
        [
          { machine: 'M09', lane: 'startstop' },
          { machine: 'M01', lane: 'counter' },
        ],
        none,
      )!.lane,
    ).toBe('startstop');
  });
});

describe('RoundRobinScheduler under a budget saturated by run/stop and parameters-only work', () => {
  it('gives parameters every fifth pick when no counter waits', () => {
    const s = new RoundRobinScheduler();
    const pending: Candidate[] = [...all('startstop'), { machine: 'OVEN', lane: 'parameters' }, { machine: 'PRESS', lane: 'parameters' }];
    const picks = Array.from({ length: 20 }, () => s.pick(pending, none)!);
    expect(picks.map((p, i) => (p.lane === 'parameters' ? i : -1)).filter((i) => i >= 0)).toEqual([4, 9, 14, 19]);
    expect(picks.filter((p) => p.lane === 'parameters').map((p) => p.machine)).toEqual(['OVEN', 'PRESS', 'OVEN', 'PRESS']);
  });

  it('with all three lanes saturated, counters and parameters both keep a share', () => {
    const s = new RoundRobinScheduler();
    const pending: Candidate[] = [...all('startstop'), ...all('counter'), { machine: 'OVEN', lane: 'parameters' }];
    const picks = Array.from({ length: 550 }, () => s.pick(pending, none)!.lane);
    const share = (lane: Lane) => picks.filter((l) => l === lane).length;
    // Four fifths run/stop; of the fifth left, 10 in 11 counters and 1 in 11 parameters.
    expect(share('startstop')).toBe(440);
    expect(share('counter')).toBe(100);
    expect(share('parameters')).toBe(10);
  });
});
