import { describe, expect, it } from 'vitest';
import { decodeAll, modiconNotation, parseHmi } from '../../src/adapters/modbus/decode-all.js';
import type { Decoding } from '../../src/core/commission.js';
import { decode } from '../../src/adapters/modbus/decode.js';
import { modbusSource } from '../../src/config/schema.js';

const find = (ds: Decoding[], type: string, order: string) => ds.find((d) => d.source.type === type && d.order === order)!;
const lit = (ds: Decoding[]) => ds.filter((d) => d.matchesHmi).map((d) => `${d.source.type} ${d.order}${d.source.scale ? ` ×${d.source.scale}` : ''}`);

describe('decodeAll: every decoding at once', () => {
  it('recognises a float32 stored little-endian (DCBA) from the value the HMI shows, and only that one', () => {
    // 23.5 is 0x41BC0000: bytes A=41 B=BC C=00 D=00, stored D C | B A.
    const r = decodeAll('holding', 100, [[0x0000, 0xbc41]], '23,5');
    expect(lit(r.decodings)).toEqual(['float32 DCBA']);
    const dcba = find(r.decodings, 'float32', 'DCBA');
    expect(dcba.value).toBe(23.5);
    expect(dcba.source).toEqual({ type: 'float32', wordOrder: 'little', byteSwap: true });
  });

  it('gives the same value as the adapter for the YAML keys it names, in all four orders of 32 and 64 bits', () => {
    const words = [0x1234, 0x5678, 0x0001, 0x86a0];
    const r = decodeAll('input', 7, [words]);
    expect(r.decodings.map((d) => `${d.source.type} ${d.order}`)).toHaveLength(2 * 2 + 3 * 4 + 3 * 4);
    for (const d of r.decodings) {
      // The keys go into a device file as they are: the schema takes them, decode reads the same.
      const s = modbusSource.parse({ area: 'input', address: 7, ...d.source });
      const width = { uint16: 1, int16: 1, uint32: 2, int32: 2, float32: 2 }[d.source.type as string] ?? 4;
      const viaAdapter = decode(s, words.slice(0, width));
      expect(viaAdapter.ok ? viaAdapter.value : viaAdapter.error).toEqual(d.value ?? d.error);
    }
    expect(find(r.decodings, 'uint32', 'ABCD').value).toBe(0x12345678);
    expect(find(r.decodings, 'uint32', 'CDAB').value).toBe(0x56781234);
    expect(find(r.decodings, 'uint32', 'BADC').value).toBe(0x34127856);
    expect(find(r.decodings, 'uint32', 'DCBA').value).toBe(0x78563412);
    expect(find(r.decodings, 'uint64', 'ABCDEFGH').error).toMatch(/2\^53/);
    expect(find(r.decodings, 'uint64', 'GHEFCDAB').error).toMatch(/2\^53/);
  });

  it('decodes only the widths that were read: one register gives 16-bit values and its bits', () => {
    const r = decodeAll('holding', 0, [[0xfffe]]);
    expect(r.decodings.map((d) => `${d.source.type} ${d.order} ${d.value}`)).toEqual(['uint16 AB 65534', 'uint16 BA 65279', 'int16 AB -2', 'int16 BA -257']);
    expect(r.bits).toHaveLength(16);
    expect(r.bits.filter((b) => b.value).map((b) => b.bit)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(r.bits[3].source).toEqual({ area: 'holding', address: 0, type: 'bool', bit: 3 });
    expect(modbusSource.safeParse(r.bits[3].source).success).toBe(true);
  });

  it('shows the 0-based address beside the 4xxxx/3xxxx/0xxxx/1xxxx notation', () => {
    expect(decodeAll('holding', 0, [[1, 2]]).registers.map((x) => [x.address, x.notation, x.raw])).toEqual([
      [0, '40001', '0x0001'],
      [1, '40002', '0x0002'],
    ]);
    expect(modiconNotation('input', 9)).toBe('30010');
    expect(modiconNotation('coil', 0)).toBe('00001');
    expect(modiconNotation('discrete', 41)).toBe('10042');
    expect(modiconNotation('holding', 9998)).toBe('49999');
    expect(modiconNotation('holding', 9999)).toBe('410000');
    expect(modiconNotation('holding', 65535)).toBe('465536');
  });

  it('finds an integer register the HMI shows with one decimal, and says the scale', () => {
    // 1234 in the register, "123.4" on the HMI.
    const r = decodeAll('holding', 5, [[1234]], '123.4');
    expect(lit(r.decodings)).toEqual(['uint16 AB ×0.1', 'int16 AB ×0.1']);
    expect(modbusSource.parse({ area: 'holding', address: 5, ...find(r.decodings, 'uint16', 'AB').source }).scale).toBe(0.1);
  });

  it('marks integers that only rise over the samples as likely counters, and bits that toggle as likely run/stop', () => {
    // A uint32 counter (ABCD) at 0..1 rising across the 16-bit boundary; a status word at 2 whose bit 2 toggles.
    const samples = [
      [0x0000, 0xfffe, 0x0004, 0x0000],
      [0x0001, 0x0003, 0x0000, 0x0000],
      [0x0001, 0x0010, 0x0004, 0x0000],
    ];
    const r = decodeAll('holding', 0, samples);
    expect(find(r.decodings, 'uint32', 'ABCD').likelyCounter).toBe(true);
    // Read in the wrong word order the same counter jumps down: not a counter.
    expect(find(r.decodings, 'uint32', 'CDAB').likelyCounter).toBeUndefined();
    expect(find(r.decodings, 'float32', 'ABCD').likelyCounter).toBeUndefined();
    expect(r.bits.filter((b) => b.likelyRunStop).map((b) => `${b.address}.${b.bit}`)).toEqual(expect.arrayContaining(['2.2']));
    expect(r.bits.find((b) => b.address === 3 && b.likelyRunStop)).toBeUndefined();
    expect(r.samples).toBe(3);
  });

  it('marks nothing from a single sample, and a bit area toggling as run/stop', () => {
    expect(decodeAll('holding', 0, [[5, 6]]).decodings.some((d) => d.likelyCounter)).toBe(false);
    const coils = decodeAll('coil', 10, [
      [true, false],
      [false, false],
    ]);
    expect(coils.bits.map((b) => [b.notation, b.value, b.likelyRunStop ?? false])).toEqual([
      ['00011', false, true],
      ['00012', false, false],
    ]);
    expect(coils.decodings).toEqual([]);
  });
});

describe('parseHmi', () => {
  it('takes a decimal comma or point, and half a unit of the last digit as tolerance', () => {
    expect(parseHmi('23,5')).toEqual({ value: 23.5, tolerance: 0.05 });
    expect(parseHmi(' 120 ')).toEqual({ value: 120, tolerance: 0.5 });
    expect(parseHmi('1.25e3')).toEqual({ value: 1250, tolerance: 5 });
    expect(parseHmi('abc')).toBeUndefined();
    expect(parseHmi('')).toBeUndefined();
  });
});
