/**
 * One register, pair or quad decoded every way at once, for commissioning: the technician
 * compares with what the HMI shows instead of guessing word and byte order. Every value
 * comes from the adapter's own decoder (decode.ts), and each decoding carries the source
 * keys (`type`, `wordOrder`, `byteSwap`, `bit`, `scale`) that read it so, so a pick is
 * valid device-file YAML. Given several samples over time, integers that only rise are
 * marked as likely counters and bits that toggle as likely run/stop.
 */
import type { BitDecoding, Decoding, DecodingSource, ModbusDecoded } from '../../core/commission.js';
import type { ModbusSource } from '../../config/schema.js';
import { decodeAt, isBitArea, type ModbusArea, type ModbusType, type RawData } from './decode.js';

const PREFIX: Record<ModbusArea, string> = { coil: '0', discrete: '1', input: '3', holding: '4' };

/**
 * The 1-based Modicon notation of an address: holding 0 is 40001, input 9 is 30010;
 * beyond 9998 the six-digit form (holding 9999 is 410000).
 */
export function modiconNotation(area: ModbusArea, address: number): string {
  const n = address + 1;
  return `${PREFIX[area]}${String(n).padStart(n > 9999 ? 5 : 4, '0')}`;
}

type Order = { order: string; wordOrder: 'big' | 'little'; byteSwap: boolean };

const ORDERS: Record<1 | 2 | 4, Order[]> = {
  1: [
    { order: 'AB', wordOrder: 'big', byteSwap: false },
    { order: 'BA', wordOrder: 'big', byteSwap: true },
  ],
  2: [
    { order: 'ABCD', wordOrder: 'big', byteSwap: false },
    { order: 'CDAB', wordOrder: 'little', byteSwap: false },
    { order: 'BADC', wordOrder: 'big', byteSwap: true },
    { order: 'DCBA', wordOrder: 'little', byteSwap: true },
  ],
  4: [
    { order: 'ABCDEFGH', wordOrder: 'big', byteSwap: false },
    { order: 'GHEFCDAB', wordOrder: 'little', byteSwap: false },
    { order: 'BADCFEHG', wordOrder: 'big', byteSwap: true },
    { order: 'HGFEDCBA', wordOrder: 'little', byteSwap: true },
  ],
};

const TYPES: Record<1 | 2 | 4, ModbusType[]> = {
  1: ['uint16', 'int16'],
  2: ['uint32', 'int32', 'float32'],
  4: ['uint64', 'int64', 'float64'],
};

const isFloat = (t: ModbusType) => t === 'float32' || t === 'float64';

/** Scales an HMI commonly applies to an integer register (one to three decimals, or tens). */
const SCALES = [0.1, 0.01, 0.001, 10];

/**
 * What the HMI shows, and how close a decoding must come: half a unit of its last digit
 * (`23.5` → ±0.05), so a display's rounding still matches.
 */
export function parseHmi(text: string): { value: number; tolerance: number } | undefined {
  const t = text.trim().replace(',', '.');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
  const decimals = /\.(\d*)/.exec(t.replace(/[eE].*$/, ''))?.[1].length ?? 0;
  const exponent = Number(/[eE]([-+]?\d+)$/.exec(t)?.[1] ?? 0);
  return { value: Number(t), tolerance: 0.5 * 10 ** (exponent - decimals) };
}

function source(area: ModbusArea, address: number, s: Partial<DecodingSource>): ModbusSource {
  return { area, address, wordOrder: 'big', byteSwap: false, ...s } as ModbusSource;
}

function matchHmi(d: Decoding, hmi: { value: number; tolerance: number }): void {
  if (d.value === undefined) return;
  if (Math.abs(d.value - hmi.value) <= hmi.tolerance) {
    d.matchesHmi = true;
    return;
  }
  if (isFloat(d.source.type)) return;
  const scale = SCALES.find((k) => Math.abs(Number((d.value! * k).toPrecision(15)) - hmi.value) <= hmi.tolerance);
  if (scale !== undefined) {
    d.source = { ...d.source, scale };
    d.matchesHmi = true;
  }
}

/** Never fell, rose at least once: how a production counter looks between two reads. */
function onlyRises(values: (number | undefined)[]): boolean {
  if (values.length < 2 || values.some((v) => v === undefined)) return false;
  const v = values as number[];
  return v.every((x, i) => i === 0 || x >= v[i - 1]) && v[v.length - 1] > v[0];
}

/**
 * `samples`: the same registers (or bits) read one or more times, oldest first, each
 * starting at `address`; the decodings show the newest. `hmi`: the value the HMI shows, as
 * typed (decimal comma allowed).
 */
export function decodeAll(area: ModbusArea, address: number, samples: readonly RawData[], hmi?: string): ModbusDecoded {
  const last = samples[samples.length - 1] ?? [];
  const result: ModbusDecoded = {
    area,
    address,
    notation: modiconNotation(area, address),
    registers: last.map((d, i) => ({
      address: address + i,
      notation: modiconNotation(area, address + i),
      raw: typeof d === 'boolean' ? (d ? '1' : '0') : `0x${d.toString(16).padStart(4, '0')}`,
    })),
    decodings: [],
    bits: [],
    samples: samples.length,
  };
  if (isBitArea(area)) {
    result.bits = last.map((_, i) => {
      const seen = new Set(samples.map((s) => Boolean(s[i])));
      const b: BitDecoding = {
        address: address + i,
        notation: modiconNotation(area, address + i),
        value: Boolean(last[i]),
        source: { area, address: address + i },
      };
      if (seen.size === 2) b.likelyRunStop = true;
      return b;
    });
    return result;
  }
  const target = hmi === undefined ? undefined : parseHmi(hmi);
  for (const width of [1, 2, 4] as const) {
    if (last.length < width) break;
    for (const type of TYPES[width]) {
      for (const o of ORDERS[width]) {
        const keys: DecodingSource = { type, wordOrder: o.wordOrder, byteSwap: o.byteSwap };
        const decodeSample = (s: RawData) => {
          const r = decodeAt(source(area, address, keys), s, 0);
          return r.ok ? { value: Number(r.value) } : { error: r.error };
        };
        const d: Decoding = { order: o.order, source: keys, ...decodeSample(last) };
        if (target) matchHmi(d, target);
        if (!isFloat(type) && onlyRises(samples.map((s) => decodeSample(s).value))) d.likelyCounter = true;
        result.decodings.push(d);
      }
    }
  }
  for (let i = 0; i < last.length; i++) {
    for (let bit = 0; bit < 16; bit++) {
      const keys = { type: 'bool' as const, bit };
      const at = (s: RawData) => {
        const r = decodeAt(source(area, address + i, keys), s, i);
        return r.ok && r.value === true;
      };
      const b: BitDecoding = {
        address: address + i,
        notation: modiconNotation(area, address + i),
        bit,
        value: at(last),
        source: { area, address: address + i, ...keys },
      };
      if (new Set(samples.map(at)).size === 2) b.likelyRunStop = true;
      result.bits.push(b);
    }
  }
  return result;
}
