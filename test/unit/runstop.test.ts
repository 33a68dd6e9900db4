import { describe, expect, it } from 'vitest';
import { stepRunStop, type RunStopOptions, type RunStopState, type Transition, type RunStopInput } from '../../src/machine/runstop.js';
import { parameterChanged } from '../../src/machine/parameters.js';

const opts: RunStopOptions = {
  reasonMap: { '1': 'Maintenance', '2': 'Setup' },
  fallbackType: 'Unplanned',
  idleType: 'Unplanned',
  minStateMs: 0,
};

function feed(inputs: RunStopInput[], o: RunStopOptions = opts, hasRunning = true): Transition[] {
  let state: RunStopState = {};
  const out: Transition[] = [];
  for (const i of inputs) {
    const r = stepRunStop(state, i, o, hasRunning);
    state = r.state;
    out.push(...r.transitions);
  }
  return out;
}

describe('run/stop', () => {
  it('takes a first "running" as the starting point and reports stops and restarts in order, with the reason', () => {
    const t = feed([
      { at: 0, running: true },
      { at: 1000, running: false, reason: 2 },
      { at: 2000, running: false, reason: 2 },
      { at: 3000, running: true, reason: 0 },
    ]);
    expect(t).toEqual([
      { running: 0, type: 'Setup', at: 1000 },
      { running: 1, type: 'Setup', at: 3000 },
    ]);
  });

  it('opens a downtime when the first observation is a stop', () => {
    expect(feed([{ at: 0, running: false, reason: 1 }])).toEqual([{ running: 0, type: 'Maintenance', at: 0 }]);
  });

  it('uses the default type for an unmapped reason', () => {
    expect(
      feed([
        { at: 0, running: true },
        { at: 5, running: false, reason: 9 },
      ])[0].type,
    ).toBe('Unplanned');
  });

  it('debounces flapping shorter than minStateSeconds', () => {
    const o = { ...opts, minStateMs: 5000 };
    const t = feed(
      [
        { at: 0, running: true },
        { at: 1000, running: false, reason: 1 },
        { at: 2000, running: true },
        { at: 3000, running: false, reason: 1 },
        { at: 4000, running: true },
        { at: 10_000, running: true },
      ],
      o,
    );
    expect(t).toEqual([]);
  });

  it('reports a stop that lasts minStateSeconds, stamped when it began, even on a timer tick', () => {
    const o = { ...opts, minStateMs: 5000 };
    const t = feed([{ at: 0, running: true }, { at: 1000, running: false, reason: 1 }, { at: 6500 }], o);
    expect(t).toEqual([{ running: 0, type: 'Maintenance', at: 1000 }]);
  });

  it('infers a stop from an idle counter, and a run when it moves again', () => {
    const o = { ...opts, idleMs: 10_000, idleType: 'NoProduction' };
    const t = feed([{ at: 0, countMoved: true }, { at: 5000, countMoved: true }, { at: 15_000 }, { at: 16_000 }, { at: 20_000, countMoved: true }], o, false);
    expect(t).toEqual([
      { running: 0, type: 'NoProduction', at: 15_000 },
      { running: 1, type: 'NoProduction', at: 20_000 },
    ]);
  });

  it('with a running signal and idle inference, a machine that says running but produces nothing is stopped', () => {
    const o = { ...opts, idleMs: 10_000 };
    const t = feed(
      [
        { at: 0, running: true, countMoved: true },
        { at: 11_000, running: true },
      ],
      o,
    );
    expect(t).toEqual([{ running: 0, type: 'Unplanned', at: 11_000 }]);
  });
});

describe('parameter deadband', () => {
  it('sends the first value and changes of at least the deadband', () => {
    expect(parameterChanged(undefined, 20, 0.5)).toBe(true);
    expect(parameterChanged(20, 20.4, 0.5)).toBe(false);
    expect(parameterChanged(20, 20.5, 0.5)).toBe(true);
    expect(parameterChanged(20, 20, 0)).toBe(false);
    expect(parameterChanged(20, 20.01, 0)).toBe(true);
    expect(parameterChanged('A', 'B', 0.5)).toBe(true);
  });
});
