/**
 * Register words and bits ⇄ values, for every Modbus source `type` of docs/configuration.md#modbus-sources.
 * Byte layout: `byteSwap` swaps the two bytes of every register, `wordOrder: little` puts
 * the least significant register first; the result is then read big-endian. `bit` picks
 * one bit (0 = least significant) of the register at `address`, whatever the type.
 */
import type { ModbusSource, modbusTypes } from '../../config/schema.js';
import { scaled } from '../signals.js';

export type ModbusType = (typeof modbusTypes)[number];
export type ModbusArea = ModbusSource['area'];
/** What a read returns: register words (0..65535) or bits. */
export type RawData = readonly number[] | readonly boolean[];
export type Decoded = { ok: true; value: number | boolean } | { ok: false; error: string };

const WORDS: Record<ModbusType, number> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

export function isBitArea(area: ModbusArea): boolean {
  return area === 'coil' || area === 'discrete';
}

export function typeOf(source: ModbusSource): ModbusType {
  return source.type ?? (isBitArea(source.area) ? 'bool' : 'uint16');
}

/** Registers a value of this type occupies. */
/** Where a counter read from this source wraps: its integer type's range; none for bits, floats and 64-bit values. */
export function typeRollover(source: ModbusSource): number | undefined {
  switch (typeOf(source)) {
    case 'uint16':
    case 'int16':
      return 2 ** 16;
    case 'uint32':
    case 'int32':
      return 2 ** 32;
    default:
      return undefined;
  }
}

export function wordCount(type: ModbusType): number {
  return WORDS[type];
}

/** Consecutive addresses the source occupies in its area. */
export function span(source: ModbusSource): number {
  return isBitArea(source.area) || source.bit !== undefined ? 1 : WORDS[typeOf(source)];
}

const swap = (w: number) => ((w & 0xff) << 8) | (w >> 8);

/**
 * One scratch view for every decode: a poll decodes thousands of values, and a Buffer
 * each was most of the adapter's cost (bench/polling.bench.ts); DataView's big-endian
 * accessors are also cheaper than Buffer's. Filled and read within one synchronous call,
 * so sharing it is safe.
 */
const scratch = new DataView(new ArrayBuffer(8));

/** Puts the n words of `words` from `at` into scratch in big-endian order. */
function toScratch(words: readonly number[], at: number, n: number, source: ModbusSource): DataView {
  const little = source.wordOrder === 'little';
  for (let i = 0; i < n; i++) {
    const w = words[at + (little ? n - 1 - i : i)];
    scratch.setUint16(i * 2, source.byteSwap ? swap(w) : w);
  }
  return scratch;
}

function fromBuffer(buf: Buffer, source: ModbusSource): number[] {
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2) words.push(buf.readUInt16BE(i));
  const ordered = source.wordOrder === 'little' ? words.reverse() : words;
  return ordered.map((w) => (source.byteSwap ? swap(w) : w));
}

function readRaw(view: DataView, type: ModbusType): number | bigint {
  switch (type) {
    case 'int16':
      return view.getInt16(0);
    case 'int32':
      return view.getInt32(0);
    case 'uint32':
      return view.getUint32(0);
    case 'float32':
      return view.getFloat32(0);
    case 'int64':
      return view.getBigInt64(0);
    case 'uint64':
      return view.getBigUint64(0);
    case 'float64':
      return view.getFloat64(0);
    default:
      return view.getUint16(0);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `data` holds exactly span(source) items, as read from the source's address on. */
export function decode(source: ModbusSource, data: RawData): Decoded {
  if (data.length !== span(source)) return { ok: false, error: `expected ${span(source)} values, got ${data.length}` };
  return decodeAt(source, data, 0);
}

/** The source's value from a block read: its span(source) items start at `at` (the block must hold them). */
export function decodeAt(source: ModbusSource, data: RawData, at: number): Decoded {
  if (isBitArea(source.area)) return { ok: true, value: Boolean(data[at]) };
  const words = data as readonly number[];
  if (source.bit !== undefined) {
    const w = source.byteSwap ? swap(words[at]) : words[at];
    return { ok: true, value: ((w >> source.bit) & 1) === 1 };
  }
  const type = typeOf(source);
  const raw = readRaw(toScratch(words, at, WORDS[type], source), type);
  if (typeof raw === 'bigint' && (raw > MAX_SAFE || raw < -MAX_SAFE)) {
    return { ok: false, error: `${raw} is beyond the exactly representable integers (±2^53)` };
  }
  const value = scaled(Number(raw), source);
  if (!Number.isFinite(value)) return { ok: false, error: `bad value ${Number(raw)}` };
  return { ok: true, value };
}

const INT_RANGE: Partial<Record<ModbusType, [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * The inverse of decode (for simulators): the words or bit to store for `value`.
 * `current` is the register's present word, kept apart from the selected bit.
 * Throws RangeError when the value does not fit the type.
 */
export function encode(source: ModbusSource, value: number | boolean, current = 0): number[] | boolean[] {
  if (isBitArea(source.area)) return [Boolean(value)];
  if (source.bit !== undefined) {
    const w = source.byteSwap ? swap(current) : current;
    const set = value ? w | (1 << source.bit) : w & ~(1 << source.bit);
    return [source.byteSwap ? swap(set) : set];
  }
  const type = typeOf(source);
  const unscaled = (Number(value) - (source.offset ?? 0)) / (source.scale ?? 1);
  const range = INT_RANGE[type];
  const raw = range ? Math.round(unscaled) : unscaled;
  if (!Number.isFinite(raw) || (range && (raw < range[0] || raw > range[1]))) {
    throw new RangeError(`${value} does not fit ${type}${source.scale !== undefined || source.offset !== undefined ? ' after scale/offset' : ''}`);
  }
  const buf = Buffer.alloc(WORDS[type] * 2);
  switch (type) {
    case 'int16':
      buf.writeInt16BE(raw);
      break;
    case 'int32':
      buf.writeInt32BE(raw);
      break;
    case 'uint32':
      buf.writeUInt32BE(raw);
      break;
    case 'float32':
      buf.writeFloatBE(raw);
      break;
    case 'int64':
      buf.writeBigInt64BE(BigInt(raw));
      break;
    case 'uint64':
      buf.writeBigUInt64BE(BigInt(raw));
      break;
    case 'float64':
      buf.writeDoubleBE(raw);
      break;
    default:
      buf.writeUInt16BE(raw);
  }
  return fromBuffer(buf, source);
}

/** Raw data as a technician reads it on a PLC panel: hex words, or 0/1 bits. */
export function formatRaw(data: RawData): string {
  return data.map((d) => (typeof d === 'boolean' ? (d ? '1' : '0') : d.toString(16).padStart(4, '0'))).join(' ');
}

/** The source as written in a device file, e.g. `holding 0 uint32 little`. */
export function describeSource(source: ModbusSource): string {
  const parts = [source.area, String(source.address), typeOf(source)];
  if (source.bit !== undefined) parts.push(`bit ${source.bit}`);
  if (source.wordOrder === 'little' && span(source) > 1) parts.push('little');
  if (source.byteSwap && !isBitArea(source.area)) parts.push('byteSwap');
  if (source.scale !== undefined) parts.push(`scale ${source.scale}`);
  if (source.offset !== undefined) parts.push(`offset ${source.offset}`);
  return parts.join(' ');
}
