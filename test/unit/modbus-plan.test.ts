import { describe, expect, it } from 'vitest';
import { span } from '../../src/adapters/modbus/decode.js';
import { MAX_READ, planReads, type ModbusSignal, type ReadBlock } from '../../src/adapters/modbus/plan.js';
import { source } from '../helpers/modbus-harness.js';
import { lcg } from '../helpers/seeded-random.js';

let n = 0;
const sig = (area: string, address: number, extra: Record<string, unknown> = {}): ModbusSignal => ({
  machine: 'M',
  key: `s${n++}`,
  kind: 'parameter',
  source: source({ area, address, ...extra }),
});
const ranges = (blocks: ReadBlock[]) => blocks.map((b) => `${b.area} ${b.start}+${b.count}`);

describe('planReads', () => {
  it('reads neighbours in one request', () => {
    const { blocks } = planReads([sig('holding', 0, { type: 'uint32' }), sig('holding', 2), sig('holding', 3, { type: 'float32' })], 0);
    expect(ranges(blocks)).toEqual(['holding 0+5']);
    expect(blocks[0].signals).toHaveLength(3);
  });

  it('spans gaps of at most maxGap unused addresses', () => {
    expect(ranges(planReads([sig('holding', 0), sig('holding', 9)], 8).blocks)).toEqual(['holding 0+10']);
    expect(ranges(planReads([sig('holding', 0), sig('holding', 10)], 8).blocks)).toEqual(['holding 0+1', 'holding 10+1']);
    expect(ranges(planReads([sig('holding', 0), sig('holding', 1)], 0).blocks)).toEqual(['holding 0+2']);
    expect(ranges(planReads([sig('holding', 0), sig('holding', 2)], 0).blocks)).toEqual(['holding 0+1', 'holding 2+1']);
  });

  it('counts the gap from the end of a multi-register value', () => {
    // uint32 at 0 ends at 2; 5 leaves 3 unused addresses (2, 3, 4).
    expect(ranges(planReads([sig('input', 0, { type: 'uint32' }), sig('input', 5)], 3).blocks)).toEqual(['input 0+6']);
    expect(ranges(planReads([sig('input', 0, { type: 'uint32' }), sig('input', 5)], 2).blocks)).toEqual(['input 0+2', 'input 5+1']);
  });

  it('never reads more than 125 registers at once', () => {
    const full = Array.from({ length: 125 }, (_, i) => sig('holding', i));
    expect(ranges(planReads(full, 0).blocks)).toEqual(['holding 0+125']);
    expect(ranges(planReads([...full, sig('holding', 125)], 0).blocks)).toEqual(['holding 0+125', 'holding 125+1']);
  });

  it('keeps a multi-register value whole at a block edge', () => {
    // 0..124 would hold the first half of a uint32 at 124: it starts the next block instead.
    const { blocks } = planReads([sig('holding', 0), sig('holding', 124, { type: 'uint32' })], 200);
    expect(ranges(blocks)).toEqual(['holding 0+1', 'holding 124+2']);
    // A uint64 ending exactly at the limit fits.
    expect(ranges(planReads([sig('holding', 0), sig('holding', 121, { type: 'uint64' })], 200).blocks)).toEqual(['holding 0+125']);
    expect(ranges(planReads([sig('holding', 0), sig('holding', 122, { type: 'float64' })], 200).blocks)).toEqual(['holding 0+1', 'holding 122+4']);
  });

  it('never splits a 32- or 64-bit value across two requests, whatever the layout and gap', () => {
    // A value split over two requests can be read torn: low word after a carry, high word before.
    const next = lcg(3);
    const rnd = (k: number) => Math.floor(next() * k);
    const types = ['uint16', 'uint32', 'int32', 'float32', 'uint64', 'float64'];
    for (let round = 0; round < 200; round++) {
      const signals = Array.from({ length: 1 + rnd(60) }, () => sig(rnd(2) ? 'holding' : 'input', rnd(400), { type: types[rnd(types.length)] }));
      const { blocks } = planReads(signals, rnd(20));
      for (const s of signals) {
        const holding = blocks.filter((b) => b.signals.includes(s));
        expect(holding).toHaveLength(1);
        const [b] = holding;
        expect(s.source.address).toBeGreaterThanOrEqual(b.start);
        expect(s.source.address + span(s.source)).toBeLessThanOrEqual(b.start + b.count);
        expect(b.count).toBeLessThanOrEqual(MAX_READ[b.area]);
      }
    }
  });

  it('reads up to 2000 coils or discrete inputs at once', () => {
    const coils = Array.from({ length: 41 }, (_, i) => sig('coil', i * 50));
    expect(ranges(planReads(coils, 49).blocks)).toEqual(['coil 0+1951', 'coil 2000+1']);
    const discretes = Array.from({ length: 2000 }, (_, i) => sig('discrete', i));
    expect(ranges(planReads(discretes, 0).blocks)).toEqual(['discrete 0+2000']);
  });

  it('shares registers between signals that overlap', () => {
    const bits = [sig('holding', 5, { type: 'bool', bit: 0 }), sig('holding', 5, { type: 'bool', bit: 7 }), sig('holding', 5)];
    const { blocks } = planReads(bits, 0);
    expect(ranges(blocks)).toEqual(['holding 5+1']);
    expect(blocks[0].signals).toHaveLength(3);
    expect(ranges(planReads([sig('holding', 10, { type: 'uint32' }), sig('holding', 11)], 0).blocks)).toEqual(['holding 10+2']);
    expect(ranges(planReads([sig('holding', 10, { type: 'uint64' }), sig('holding', 11, { type: 'uint32' })], 0).blocks)).toEqual(['holding 10+4']);
  });

  it('keeps areas apart, in a fixed order, whatever the input order', () => {
    const { blocks } = planReads([sig('discrete', 0), sig('coil', 0), sig('input', 3), sig('holding', 7), sig('holding', 0)], 8);
    expect(ranges(blocks)).toEqual(['holding 0+8', 'input 3+1', 'coil 0+1', 'discrete 0+1']);
    expect(blocks[0].signals.map((s) => s.source.address)).toEqual([0, 7]);
  });

  it('rejects values that run past address 65535', () => {
    const late = sig('holding', 65535, { type: 'uint32' });
    const { blocks, rejected } = planReads([late, sig('holding', 65535)], 8);
    expect(rejected).toEqual([late]);
    expect(ranges(blocks)).toEqual(['holding 65535+1']);
  });

  it('plans nothing for no signals', () => {
    expect(planReads([], 8)).toEqual({ blocks: [], rejected: [] });
  });
});

describe('planReads invariants on random devices', () => {
  // A small seeded generator, so a failure reproduces.
  const types = ['uint16', 'int16', 'uint32', 'float32', 'uint64', 'float64'];

  for (let seed = 1; seed <= 30; seed++) {
    it(`seed ${seed}`, () => {
      const r = lcg(seed);
      const maxGap = Math.floor(r() * 20);
      const signals = Array.from({ length: 5 + Math.floor(r() * 200) }, () => {
        const area = ['holding', 'input', 'coil', 'discrete'][Math.floor(r() * 4)];
        const address = Math.floor(r() * 3000);
        const bitArea = area === 'coil' || area === 'discrete';
        return sig(area, address, bitArea ? {} : { type: types[Math.floor(r() * types.length)] });
      });
      const { blocks, rejected } = planReads(signals, maxGap);
      expect(rejected).toEqual([]);
      const seen = blocks.flatMap((b) => b.signals);
      expect(seen).toHaveLength(signals.length);
      expect(new Set(seen).size).toBe(signals.length);
      for (const [i, b] of blocks.entries()) {
        expect(b.count).toBeLessThanOrEqual(MAX_READ[b.area]);
        let covered = b.start;
        for (const s of b.signals) {
          expect(s.source.area).toBe(b.area);
          expect(s.source.address).toBeGreaterThanOrEqual(b.start);
          expect(s.source.address + span(s.source)).toBeLessThanOrEqual(b.start + b.count);
          expect(s.source.address - covered).toBeLessThanOrEqual(maxGap); // no gap wider than allowed
          covered = Math.max(covered, s.source.address + span(s.source));
        }
        expect(covered).toBe(b.start + b.count); // no unused tail
        // Greedy is minimal: the next block's first signal could not have joined this one.
        const next = blocks[i + 1];
        if (next?.area === b.area) {
          const first = next.signals[0].source;
          const end = Math.max(b.start + b.count, first.address + span(first));
          expect(first.address - (b.start + b.count) > maxGap || end - b.start > MAX_READ[b.area]).toBe(true);
        }
      }
    });
  }
});
