import { describe, expect, it } from 'vitest';
import { initGuard, stepGuard, HOLD_READS, type GuardOptions, type GuardState } from '../../src/machine/guard.js';
import { lcg } from '../helpers/seeded-random.js';

/** Feeds raw reads through the guard, one a second unless `times` (ms) are given; returns the totals after each read. */
function run(
  raws: number[],
  opts: GuardOptions,
  initial: 'raw' | 'zero' = 'raw',
  times: number[] = raws.map((_, i) => i * 1000),
): { totals: number[]; events: string[]; state: GuardState } {
  let state = initGuard(raws[0], initial, times[0]);
  const totals = [state.total];
  const events = ['init'];
  for (let i = 1; i < raws.length; i++) {
    const step = stepGuard(state, raws[i], times[i], opts);
    expect(step.state.total).toBe(state.total + step.added);
    expect(step.added).toBeGreaterThanOrEqual(0);
    state = step.state;
    totals.push(state.total);
    events.push(step.event);
  }
  return { totals, events, state };
}

/** A counter making `perSecond` parts a second, read once a second: `n` reads ending at `last`. */
function ramp(last: number, perSecond: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => last - (n - 1 - i) * perSecond);
}

const u16 = { rollover: 2 ** 16 };
const u32 = { rollover: 2 ** 32 };

describe('incrementality guard', () => {
  it('starts at the raw value, or at zero with initialCount: zero', () => {
    expect(initGuard(1234, 'raw', 0).total).toBe(1234);
    expect(initGuard(1234, 'zero', 0).total).toBe(0);
  });

  it('adds rises and ignores unchanged reads', () => {
    const r = run([100, 100, 105, 105, 110], u16);
    expect(r.totals).toEqual([100, 100, 105, 105, 110]);
    expect(r.events).toEqual(['init', 'same', 'rise', 'same', 'rise']);
  });

  it('wraps a 16-bit counter at 65536', () => {
    const r = run([65530, 65535, 3, 10], u16);
    expect(r.totals).toEqual([65530, 65535, 65539, 65546]);
    expect(r.events[2]).toBe('wrap');
  });

  it('wraps a 32-bit counter at 2^32', () => {
    const r = run([4294967290, 4294967295, 4, 6], u32);
    expect(r.totals).toEqual([4294967290, 4294967295, 4294967300, 4294967302]);
    expect(r.events[2]).toBe('wrap');
  });

  it('honours a configured counterRollover (e.g. a counter module that wraps at 10000)', () => {
    const r = run([9990, 9999, 5], { rollover: 10000 });
    expect(r.totals).toEqual([9990, 9999, 10005]);
  });

  it('holds a fall to 0 until the next read shows a reset, then adds what was counted since', () => {
    const r = run([5000, 5010, 0, 7], u16);
    expect(r.totals).toEqual([5000, 5010, 5010, 5017]);
    expect(r.events.slice(2)).toEqual(['held', 'reset']);
  });

  it('treats a fall to a small value as a reset and adds what was counted since', () => {
    const r = run([5000, 5010, 4, 9], u16);
    expect(r.totals).toEqual([5000, 5010, 5010, 5019]);
    expect(r.events[3]).toBe('reset');
  });

  it('does not take a fall from mid-range for a wrap', () => {
    const r = run([30000, 30005, 2, 6], u16);
    expect(r.events.slice(2)).toEqual(['held', 'reset']);
    expect(r.totals[3]).toBe(30011);
  });

  it('a counter without a rollover (no type range) treats every fall as a reset', () => {
    const r = run([65535, 3, 5], {});
    expect(r.events.slice(1)).toEqual(['held', 'reset']);
    expect(r.totals[2]).toBe(65540);
  });

  it('a fall to a value the machine cannot have made since is a preset: counting resumes there, nothing added', () => {
    // 5 parts/s, then the operator sets the counter to 20000 (below the old value).
    const r = run([...ramp(30000, 5, 5), 20000, 20005, 20010], u16);
    expect(r.events.slice(5)).toEqual(['held', 'rebaseline', 'rise']);
    expect(r.totals.slice(4)).toEqual([30000, 30000, 30000, 30005]);
  });

  it('holds a jump above maxCountJump that the elapsed time explains, and adds it once the next read confirms it', () => {
    // The PLC was out of reach for ten minutes: 4890 parts in that time is plausible at 10/s.
    const r = run([100, 110, 5000, 5003], { ...u16, maxJump: 1000 }, 'raw', [0, 1000, 601_000, 602_000]);
    expect(r.events).toEqual(['init', 'rise', 'held', 'rise']);
    expect(r.totals).toEqual([100, 110, 110, 5003]);
  });

  it('drops a jump that the next read does not confirm', () => {
    const r = run([100, 110, 60000, 112, 115], { ...u16, maxJump: 1000 });
    expect(r.events).toEqual(['init', 'rise', 'held', 'glitch', 'rise']);
    expect(r.totals).toEqual([100, 110, 110, 112, 115]);
  });

  it('a single bad read of 0 does not count the whole counter again', () => {
    const r = run([7000, 7005, 0, 7008], { ...u16, maxJump: 1000 });
    expect(r.totals).toEqual([7000, 7005, 7005, 7008]);
  });

  it('a real reset is still counted when the next read confirms it', () => {
    const r = run([7000, 7005, 0, 3], { ...u16, maxJump: 1000 });
    expect(r.totals).toEqual([7000, 7005, 7005, 7008]);
    expect(r.events[3]).toBe('reset');
  });

  it('a held value that is followed by another glitch is judged again', () => {
    const r = run([100, 9000, 20000, 105], { ...u16, maxJump: 1000 });
    expect(r.totals[r.totals.length - 1]).toBe(105);
  });

  it('the total never decreases and never repeats a delivered value over a long noisy run', () => {
    // Deterministic pseudo-random PLC: rises, resets, wraps, glitches.
    const rnd = lcg(42);
    let raw = 60000;
    const raws = [raw];
    for (let i = 0; i < 5000; i++) {
      const p = rnd();
      if (p < 0.01) raw = 0;
      else if (p < 0.02) raws.push(Math.floor(rnd() * 65536));
      else raw = (raw + Math.floor(rnd() * 20)) % 65536;
      raws.push(raw);
    }
    const r = run(raws, { ...u16, maxJump: 500 });
    const increases = r.totals.filter((t, i) => i > 0 && t !== r.totals[i - 1]);
    for (let i = 1; i < r.totals.length; i++) expect(r.totals[i]).toBeGreaterThanOrEqual(r.totals[i - 1]);
    expect(new Set(increases).size).toBe(increases.length);
  });

  it('scrap booked in a batch on a slow waste counter is counted, not held', () => {
    const r = run([0, 1, 1, 2, 80, 80], u16, 'raw', [0, 60_000, 120_000, 180_000, 181_000, 182_000]);
    expect(r.events.slice(4)).toEqual(['rise', 'same']);
    expect(r.state.total).toBe(80);
  });

  it('a held value read the same over and over is settled: a preset of a stopped machine adds nothing', () => {
    const r = run([...ramp(1000, 5, 5), ...Array(HOLD_READS).fill(50000), 50005], u16);
    expect(r.events.slice(5)).toEqual([...Array(HOLD_READS - 1).fill('held'), 'rebaseline', 'rise']);
    expect(r.totals[r.totals.length - 1]).toBe(1005);
  });

  it('a preset of a running machine adds only what it made after the preset', () => {
    const r = run([...ramp(1000, 5, 5), 50000, 50005, 50010], u16);
    expect(r.events.slice(5)).toEqual(['held', 'rebaseline', 'rise']);
    expect(r.totals.slice(5)).toEqual([1000, 1005, 1010]);
  });

  it('a machine that suddenly runs far faster than seen is learned after a few reads, not held forever', () => {
    const r = run([...ramp(1000, 1, 5), ...ramp(1000 + 300 * (HOLD_READS + 2), 300, HOLD_READS + 2)], u16);
    // Only the first fast read is lost; the rest is counted and the new rate taken.
    expect(r.events[4 + HOLD_READS]).toBe('rebaseline');
    expect(r.events.slice(5 + HOLD_READS)).toEqual(['rise', 'rise']);
    expect(r.state.total).toBe(1000 + 300 * (HOLD_READS + 1));
    expect(r.state.rate).toBeGreaterThanOrEqual(300);
  });

  it('the observed rate is kept in the state, so it survives a restart with the rest', () => {
    const r = run(ramp(1000, 5, 10), u16);
    expect(r.state.rate).toBeCloseTo(5);
    expect(r.state.seenAt).toBe(9000);
  });

  it('refuses a non-finite raw value', () => {
    expect(() => stepGuard(initGuard(1, 'raw', 0), Number.NaN, 1000, u16)).toThrow(/finite/);
  });
});

describe('guard plausibility (issue 7: phantom wraps, torn reads)', () => {
  const withAndWithout: [string, GuardOptions, GuardOptions][] = [
    ['without maxCountJump', u16, u32],
    ['with maxCountJump', { ...u16, maxJump: 1000 }, { ...u32, maxJump: 1000 }],
  ];

  for (const [label, opts16, opts32] of withAndWithout) {
    describe(label, () => {
      it('a uint16 reset from 62039 to 0 at 5 parts/s is a reset adding 0, not a wrap of +3497', () => {
        const r = run([...ramp(62039, 5, 10), 0, 5, 10], opts16);
        expect(r.totals.slice(9)).toEqual([62039, 62039, 62044, 62049]);
        expect(r.events.slice(10)).toEqual(['held', 'reset', 'rise']);
      });

      it('one bad read of 65535 adds nothing', () => {
        const r = run([...ramp(1000, 5, 5), 65535, 1010, 1015], opts16);
        expect(r.totals.slice(4)).toEqual([1000, 1000, 1010, 1015]);
        expect(r.events.slice(5, 7)).toEqual(['held', 'glitch']);
      });

      it('a torn 32-bit read 0x0000FFFF → 0x00000000 → 0x00010002 adds 3, not 65 534', () => {
        const r = run([...ramp(0xffff, 1, 5), 0, 0x10002], opts32);
        expect(r.state.total - 0xffff).toBe(3);
      });

      it('two equal torn reads do not confirm the torn value', () => {
        const down = run([...ramp(0xffff, 1, 5), 0, 0, 0x10002, 0x10003], opts32);
        expect(down.state.total - 0xffff).toBe(4);
        // High word written first: 0x0000FFFF → 0x0001FFFF twice → 0x00010002.
        const up = run([...ramp(0xffff, 1, 5), 0x1ffff, 0x1ffff, 0x10002, 0x10003], opts32);
        expect(up.state.total - 0xffff).toBe(4);
      });
    });
  }

  it('without any rate known yet, a torn read still adds only what the machine made', () => {
    const r = run([0xffff, 0, 0x10002], u32);
    expect(r.state.total).toBe(0x10002);
  });

  it('before a rate is known, a wrap must be small (a tenth of the range)', () => {
    expect(run([65530, 3], u16).events[1]).toBe('wrap');
    expect(run([60000, 100], u16).events[1]).toBe('held');
  });

  it('a reset seen at start-up (gateway down a minute) is a reset, judged on the elapsed time', () => {
    // Persisted before the stop: 62039 at 5 parts/s. A wrap would mean 3597 parts in 60 s.
    const before = run(ramp(62039, 5, 10), u16).state;
    const back = before.seenAt + 60_000;
    const first = stepGuard(before, 100, back, u16);
    const second = stepGuard(first.state, 105, back + 1000, u16);
    expect([first.event, second.event]).toEqual(['held', 'reset']);
    expect(second.state.total).toBe(62039 + 105);
  });

  it('a wrap after a long stop of the gateway is a wrap when the elapsed time explains it', () => {
    const before = run(ramp(62039, 5, 10), u16).state;
    const step = stepGuard(before, 100, before.seenAt + 3600_000, u16);
    expect(step.event).toBe('wrap');
    expect(step.added).toBe(100 + 65536 - 62039);
  });

  it('never exceeds the true production of a model counter with resets, bad reads and torn words, with and without maxCountJump', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 20; round++) {
      const opts = round % 2 === 0 ? u16 : { ...u16, maxJump: 500 };
      let counter = Math.floor(rnd() * 65536);
      let produced = 0;
      let state = initGuard(counter, 'raw', 0);
      const start = state.total;
      for (let i = 1; i <= 3000; i++) {
        const made = Math.floor(rnd() * 8);
        produced += made;
        const p = rnd();
        if (p < 0.003)
          counter = made; // reset, then this second's parts
        else counter = (counter + made) % 65536;
        const q = rnd();
        let read = counter;
        if (q < 0.01) read = 0;
        else if (q < 0.02) read = 65535;
        else if (q < 0.03)
          read = counter ^ 0xff00; // a torn high byte
        else if (q < 0.04) read = (counter + 1000 + Math.floor(rnd() * 60000)) % 65536;
        const step = stepGuard(state, read, i * 1000, opts);
        expect(step.state.total).toBeGreaterThanOrEqual(state.total);
        state = step.state;
        expect(state.total - start).toBeLessThanOrEqual(produced);
      }
      // Held reads cost a little; a guard that dropped real production would fall far behind.
      expect(state.total - start).toBeGreaterThan(produced * 0.97);
    }
  });
});
