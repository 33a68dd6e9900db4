/** The fault suite's own checks must catch what they claim to: a doubled or invented transition, a burst. */
import { describe, expect, it } from 'vitest';
import { runStopProblems } from '../helpers/fault-checks.js';

const plc = [
  { at: 100, running: 0 as const },
  { at: 200, running: 1 as const },
  { at: 300, running: 0 as const },
];
const entry = (at: number, running: 0 | 1) => ({ at, type: 'Stop', running });

describe('fault checks', () => {
  it('accepts every transition once, and a collapsed subsequence', () => {
    expect(runStopProblems('M1', [entry(110, 0), entry(210, 1), entry(310, 0)], plc)).toEqual([]);
    expect(runStopProblems('M1', [entry(310, 0)], plc)).toEqual([]);
  });

  it('reports a transition recorded twice, and one the PLC never made', () => {
    expect(runStopProblems('M1', [entry(110, 0), entry(120, 0)], plc)).toEqual([
      'M1: MES entry 1 (running 0 at 120) repeats the state before it',
      'M1: MES entry 1 (running 0 at 120) matches no PLC transition after the one before',
    ]);
    expect(runStopProblems('M1', [entry(50, 0)], plc)).toEqual(['M1: MES entry 0 (running 0 at 50) matches no PLC transition after the one before']);
    expect(runStopProblems('M1', [entry(110, 1)], plc)[0]).toContain('repeats the state before it');
  });
});
