/**
 * OPC UA DataValue → signal value. A value that is not Good, not a scalar, or not of a
 * type the signal can use becomes an error for that one signal, never a reading.
 */
import { DataType, VariantArrayType, type DataValue, type Variant } from 'node-opcua';
import type { OpcuaSource } from '../../config/schema.js';
import { isCounter, scaled, type SignalKind } from '../signals.js';
import type { SignalValue } from '../../core/values.js';

/** `rollover`: a count's or waste's Reading.rollover, by the variant's integer DataType. */
export type Decoded = { value: SignalValue; raw: string; rollover?: number } | { error: string; raw?: string };

const numericTypes = new Set([
  DataType.SByte,
  DataType.Byte,
  DataType.Int16,
  DataType.UInt16,
  DataType.Int32,
  DataType.UInt32,
  DataType.Float,
  DataType.Double,
]);

/**
 * What each kind of signal takes (as MQTT does): count and waste a number; running a
 * boolean or number; stopReason a number or text; a parameter a number, a flag or
 * non-blank text (the MES takes text parameter values).
 */
export function decode(dv: DataValue, kind: SignalKind, source: OpcuaSource): Decoded {
  // Uncertain values (stale, last usable) are not sent either: the MES cannot tell.
  if (!dv.statusCode.isGood()) return { error: dv.statusCode.name };
  const v = dv.value;
  const raw = variantText(v);
  if (v.arrayType !== VariantArrayType.Scalar) return { error: `an array (${raw}) where a single value is expected`, raw };
  const plain = plainValue(v);
  if ('error' in plain) return { error: plain.error, raw };
  const x = plain.value;
  const mismatch = { error: `type mismatch: ${raw} where ${expected[kind]} is expected`, raw };
  if (typeof x === 'number') {
    const rollover = isCounter(kind) ? dataTypeRollover(v.dataType) : undefined;
    return { value: scaled(x, source), raw, ...(rollover !== undefined && { rollover }) };
  }
  if (typeof x === 'boolean') {
    if (kind === 'running') return { value: x, raw };
    // A flag as a process parameter (heater on, door open) charts as 1/0.
    if (kind === 'parameter') return { value: scaled(x ? 1 : 0, source), raw };
    return mismatch;
  }
  // A text stop reason is looked up in stopReason.map like a numeric one.
  if (kind === 'stopReason') return { value: x, raw };
  if (kind === 'parameter') {
    return x.trim() === '' ? { error: `blank text (${raw}) where a parameter value is expected`, raw } : { value: x, raw };
  }
  return mismatch;
}

const expected: Record<SignalKind, string> = {
  count: 'a number',
  waste: 'a number',
  running: 'a boolean or number',
  stopReason: 'a number or text',
  parameter: 'a number, boolean or text',
};

function plainValue(v: Variant): { value: number | boolean | string } | { error: string } {
  if (v.dataType === DataType.Null) return { error: 'no value (Null)' };
  if (v.dataType === DataType.Boolean) return { value: Boolean(v.value) };
  if (numericTypes.has(v.dataType)) {
    const n = Number(v.value);
    return Number.isFinite(n) ? { value: n } : { error: `not a finite number (${String(v.value)})` };
  }
  if (v.dataType === DataType.Int64 || v.dataType === DataType.UInt64) {
    const n = Number(int64Value(v.value, v.dataType === DataType.Int64));
    return Number.isSafeInteger(n) ? { value: n } : { error: 'a 64-bit value beyond ±2^53, which cannot be represented exactly' };
  }
  if (v.dataType === DataType.String) return { value: String(v.value) };
  if (v.dataType === DataType.LocalizedText) return { value: String(v.value?.text ?? '') };
  return { error: `type mismatch: ${DataType[v.dataType]} is not a number, boolean or text` };
}

/**
 * Where a counter of this DataType wraps: the range of its bits. None for 64-bit integers
 * (the gateway takes them only up to 2^53, far below their wrap) and for floats.
 */
function dataTypeRollover(dataType: DataType): number | undefined {
  switch (dataType) {
    case DataType.SByte:
    case DataType.Byte:
      return 2 ** 8;
    case DataType.Int16:
    case DataType.UInt16:
      return 2 ** 16;
    case DataType.Int32:
    case DataType.UInt32:
      return 2 ** 32;
    default:
      return undefined;
  }
}

/** node-opcua carries 64-bit integers as [high, low] unsigned 32-bit words. */
export function int64Value([hi, lo]: [number, number], signed: boolean): bigint {
  const bits = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return signed ? BigInt.asIntN(64, bits) : bits;
}

/** The variant as a technician would read it: `UInt32 42`, `String "abc"`. */
export function variantText(v: Variant): string {
  const type = DataType[v.dataType] ?? `type ${v.dataType}`;
  if (v.dataType === DataType.Null) return 'Null';
  if (v.arrayType !== VariantArrayType.Scalar) return `${type}[] ${JSON.stringify(Array.from(v.value ?? []))}`;
  if (v.dataType === DataType.Int64 || v.dataType === DataType.UInt64) {
    return `${type} ${int64Value(v.value, v.dataType === DataType.Int64)}`;
  }
  if (v.dataType === DataType.LocalizedText) return `${type} ${JSON.stringify(v.value?.text ?? '')}`;
  const x = v.value;
  return `${type} ${typeof x === 'number' || typeof x === 'boolean' ? String(x) : JSON.stringify(x)}`;
}
