import { describe, expect, it } from 'vitest';
import { modbusTypes } from '../../src/config/schema.js';
import {
  decode,
  decodeAt,
  describeSource,
  encode,
  formatRaw,
  span,
  typeOf,
  typeRollover,
  wordCount,
  type ModbusType,
} from '../../src/adapters/modbus/decode.js';
import { source } from '../helpers/modbus-harness.js';

const reg = (type: string, extra: Record<string, unknown> = {}) => source({ area: 'holding', address: 0, type, ...extra });
const value = (s: ReturnType<typeof source>, data: number[] | boolean[]) => {
  const d = decode(s, data);
  if (!d.ok) throw new Error(d.error);
  return d.value;
};

describe('decode: known layouts', () => {
  it('reads uint32 100000 in all four word/byte orders', () => {
    expect(value(reg('uint32'), [0x0001, 0x86a0])).toBe(100000);
    expect(value(reg('uint32', { wordOrder: 'little' }), [0x86a0, 0x0001])).toBe(100000);
    expect(value(reg('uint32', { byteSwap: true }), [0x0100, 0xa086])).toBe(100000);
    expect(value(reg('uint32', { wordOrder: 'little', byteSwap: true }), [0xa086, 0x0100])).toBe(100000);
  });

  it('reads signed and unsigned 16-bit', () => {
    expect(value(reg('int16'), [0xffff])).toBe(-1);
    expect(value(reg('uint16'), [0xffff])).toBe(65535);
    expect(value(reg('int16'), [0x8000])).toBe(-32768);
    expect(value(reg('int16', { byteSwap: true }), [0x3412])).toBe(0x1234);
  });

  it('reads 32-bit signed, floats, 64-bit', () => {
    expect(value(reg('int32'), [0xffff, 0xfffe])).toBe(-2);
    expect(value(reg('float32'), [0x41bc, 0x0000])).toBe(23.5);
    expect(value(reg('float32', { wordOrder: 'little' }), [0x0000, 0x41bc])).toBe(23.5);
    expect(value(reg('float64'), [0x3ff8, 0, 0, 0])).toBe(1.5);
    expect(value(reg('int64'), [0xffff, 0xffff, 0xffff, 0xffff])).toBe(-1);
    expect(value(reg('uint64'), [0, 0, 1, 0])).toBe(65536);
    expect(value(reg('uint64', { wordOrder: 'little' }), [0, 1, 0, 0])).toBe(65536);
  });

  it('accepts 64-bit integers up to 2^53-1 and rejects beyond', () => {
    expect(value(reg('uint64'), [0x001f, 0xffff, 0xffff, 0xffff])).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(reg('uint64'), [0x0020, 0, 0, 0])).toMatchObject({ ok: false, error: expect.stringContaining('2^53') });
    expect(decode(reg('uint64'), [0xffff, 0xffff, 0xffff, 0xffff]).ok).toBe(false);
    expect(value(reg('int64'), [0xffe0, 0, 0, 1])).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decode(reg('int64'), [0xffe0, 0, 0, 0]).ok).toBe(false);
  });

  it('reports NaN and Infinity as errors, never as values', () => {
    expect(decode(reg('float32'), [0x7fc0, 0x0000])).toMatchObject({ ok: false, error: 'bad value NaN' });
    expect(decode(reg('float32'), [0x7f80, 0x0000])).toMatchObject({ ok: false, error: 'bad value Infinity' });
    expect(decode(reg('float64'), [0xfff0, 0, 0, 0])).toMatchObject({ ok: false, error: 'bad value -Infinity' });
  });

  it('reads one bit of a register, after byteSwap', () => {
    expect(value(reg('bool', { bit: 1 }), [0b1010])).toBe(true);
    expect(value(reg('bool', { bit: 2 }), [0b1010])).toBe(false);
    expect(value(reg('bool', { bit: 15 }), [0x8000])).toBe(true);
    expect(value(reg('bool', { bit: 0, byteSwap: true }), [0x0100])).toBe(true);
    expect(value(reg('uint16', { bit: 3 }), [0x0008])).toBe(true);
  });

  it('reads coils and discrete inputs as booleans', () => {
    expect(value(source({ area: 'coil', address: 3 }), [true])).toBe(true);
    expect(value(source({ area: 'discrete', address: 3 }), [false])).toBe(false);
  });

  it('applies scale then offset', () => {
    expect(value(reg('uint16', { scale: 0.1, offset: -5 }), [250])).toBeCloseTo(20);
    expect(value(reg('int16', { scale: 2 }), [0xfffe])).toBe(-4);
    expect(value(reg('uint16', { offset: 1000 }), [5])).toBe(1005);
  });

  it('rejects data of the wrong length', () => {
    expect(decode(reg('uint32'), [1]).ok).toBe(false);
  });
});

describe('types and sizes', () => {
  it('defaults to bool on bit areas and uint16 on registers', () => {
    expect(typeOf(source({ area: 'coil', address: 0 }))).toBe('bool');
    expect(typeOf(source({ area: 'discrete', address: 0 }))).toBe('bool');
    expect(typeOf(source({ area: 'holding', address: 0 }))).toBe('uint16');
    expect(typeOf(source({ area: 'input', address: 0 }))).toBe('uint16');
  });

  it('counts registers per type; a bit source spans one address', () => {
    const sizes = Object.fromEntries(modbusTypes.map((t) => [t, wordCount(t)]));
    expect(sizes).toEqual({ bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, int64: 4, uint64: 4, float64: 4 });
    expect(span(reg('float64'))).toBe(4);
    expect(span(reg('uint32', { bit: 4 }))).toBe(1);
    expect(span(source({ area: 'coil', address: 9 }))).toBe(1);
  });

  it('describes sources and raw data as a technician writes them', () => {
    expect(describeSource(reg('uint32'))).toBe('holding 0 uint32');
    expect(describeSource(source({ area: 'input', address: 4, type: 'float32', wordOrder: 'little', scale: 0.1 }))).toBe('input 4 float32 little scale 0.1');
    expect(describeSource(reg('bool', { bit: 3 }))).toBe('holding 0 bool bit 3');
    expect(describeSource(source({ area: 'coil', address: 2 }))).toBe('coil 2 bool');
    expect(formatRaw([0x0001, 0x86a0])).toBe('0001 86a0');
    expect(formatRaw([true, false])).toBe('1 0');
  });
});

const samples: Record<ModbusType, number[]> = {
  bool: [],
  int16: [0, 1, -1, 32767, -32768, 1234],
  uint16: [0, 1, 65535, 4660],
  int32: [0, -1, 2147483647, -2147483648, 100000],
  uint32: [0, 4294967295, 100000, 65536],
  float32: [0, 23.5, -1.25, Math.fround(1234.567), Math.fround(1e30)],
  int64: [0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 40 + 7],
  uint64: [0, Number.MAX_SAFE_INTEGER, 2 ** 32, 2 ** 48 + 3],
  float64: [0, Math.PI, -1e-300, 1e300],
};

describe('encode is the inverse of decode', () => {
  for (const type of modbusTypes.filter((t) => t !== 'bool')) {
    for (const wordOrder of ['big', 'little']) {
      for (const byteSwap of [false, true]) {
        it(`${type} ${wordOrder} byteSwap=${byteSwap}`, () => {
          const s = reg(type, { wordOrder, byteSwap });
          for (const v of samples[type]) {
            const words = encode(s, v) as number[];
            expect(words).toHaveLength(wordCount(type));
            for (const w of words) expect(w >= 0 && w <= 0xffff && Number.isInteger(w)).toBe(true);
            expect(value(s, words)).toBe(v);
          }
        });
      }
    }
  }

  it('round-trips scaled values', () => {
    const s = reg('int16', { scale: 0.1, offset: 20 });
    expect(encode(s, 25.5)).toEqual([55]);
    expect(value(s, encode(s, 25.5) as number[])).toBeCloseTo(25.5);
    const f = reg('float32', { scale: 0.5 });
    expect(value(f, encode(f, 10) as number[])).toBe(10);
  });

  it('sets one bit and keeps the others', () => {
    const s = reg('bool', { bit: 2 });
    expect(encode(s, true, 0b1001)).toEqual([0b1101]);
    expect(encode(s, false, 0b1101)).toEqual([0b1001]);
    const swapped = reg('bool', { bit: 0, byteSwap: true });
    expect(encode(swapped, true, 0)).toEqual([0x0100]);
    expect(value(swapped, encode(swapped, true, 0x0002) as number[])).toBe(true);
  });

  it('encodes coils as booleans', () => {
    expect(encode(source({ area: 'coil', address: 0 }), 1)).toEqual([true]);
  });

  it('refuses values the type cannot hold', () => {
    expect(() => encode(reg('uint16'), 65536)).toThrow(RangeError);
    expect(() => encode(reg('uint16'), -1)).toThrow(RangeError);
    expect(() => encode(reg('int16', { scale: 0.01 }), 400)).toThrow(/after scale/);
    expect(() => encode(reg('uint64'), 2 ** 53)).toThrow(RangeError);
    expect(() => encode(reg('float32'), Number.NaN)).toThrow(RangeError);
  });
});

describe('typeRollover', () => {
  it("a counter wraps at its integer type's range; a register without a type is a uint16; bits, floats and 64-bit never wrap", () => {
    expect(typeRollover(source({ area: 'holding', address: 0 }))).toBe(65536);
    expect(typeRollover(source({ area: 'input', address: 0 }))).toBe(65536);
    expect(typeRollover(reg('uint16'))).toBe(65536);
    expect(typeRollover(reg('int32'))).toBe(2 ** 32);
    expect(typeRollover(reg('uint32'))).toBe(2 ** 32);
    for (const t of ['float32', 'float64', 'int64', 'uint64']) expect(typeRollover(reg(t))).toBeUndefined();
    expect(typeRollover(source({ area: 'coil', address: 0 }))).toBeUndefined();
  });
});

describe('decodeAt: a value read in place from its block', () => {
  it('reads every type and layout at odd and even offsets of one block, mixed sizes in a row', () => {
    // One block as a poll reads it: a filler word first, so values start at odd and even offsets.
    const block: number[] = [0xbeef];
    const placed: { s: ReturnType<typeof source>; at: number; v: number }[] = [];
    for (const type of modbusTypes.filter((t) => t !== 'bool')) {
      for (const wordOrder of ['big', 'little']) {
        for (const byteSwap of [false, true]) {
          for (const v of samples[type]) {
            const s = source({ area: 'holding', address: block.length, type, wordOrder, byteSwap });
            placed.push({ s, at: block.length, v });
            block.push(...(encode(s, v) as number[]));
          }
        }
      }
    }
    expect(placed.some((p) => p.at % 2 === 1 && wordCount(typeOf(p.s)) === 4)).toBe(true);
    for (const { s, at, v } of placed) expect(decodeAt(s, block, at)).toEqual({ ok: true, value: v });
  });

  it('reads bits and coils at their offset, and refuses a 64-bit value beyond 2^53 in place', () => {
    const words = [0, 0b1000, 0xffff, 0xffff, 0xffff, 0xffff];
    expect(decodeAt(reg('bool', { bit: 3 }), words, 1)).toEqual({ ok: true, value: true });
    expect(decodeAt(reg('bool', { bit: 3 }), words, 0)).toEqual({ ok: true, value: false });
    expect(decodeAt(source({ area: 'coil', address: 0 }), [false, false, true], 2)).toEqual({ ok: true, value: true });
    expect(decodeAt(reg('uint64'), words, 2)).toMatchObject({ ok: false, error: expect.stringMatching(/beyond the exactly representable/) });
    // The same words as int64 are -1: the failed decode left nothing behind for the next one.
    expect(decodeAt(reg('int64'), words, 2)).toEqual({ ok: true, value: -1 });
    expect(decodeAt(reg('uint16'), words, 1)).toEqual({ ok: true, value: 8 });
  });
});
