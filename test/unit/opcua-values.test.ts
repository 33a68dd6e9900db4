/** OPC UA value conversion: what becomes a reading, and what becomes a per-signal error. */
import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import type { SignalKind } from '../../src/adapters/signals.js';
import { decode, int64Value, variantText } from '../../src/adapters/opcua/values.js';

const source = { nodeId: 'ns=1;s=X' };
const good = (dataType: DataType, value: unknown, arrayType = VariantArrayType.Scalar) =>
  new DataValue({ value: new Variant({ dataType, value, arrayType }), statusCode: StatusCodes.Good });
const value = (dv: DataValue, kind: SignalKind = 'count', src: object = source) => decode(dv, kind, { ...source, ...src });

describe('decode', () => {
  it('passes numbers of every width through, scaled', () => {
    expect(value(good(DataType.UInt32, 4_000_000_000))).toEqual({ value: 4_000_000_000, raw: 'UInt32 4000000000', rollover: 2 ** 32 });
    expect(value(good(DataType.Int16, -5))).toEqual({ value: -5, raw: 'Int16 -5', rollover: 2 ** 16 });
    expect(value(good(DataType.Byte, 7))).toEqual({ value: 7, raw: 'Byte 7', rollover: 2 ** 8 });
    expect(value(good(DataType.Double, 21.5), 'parameter', { scale: 10, offset: -15 })).toEqual({ value: 200, raw: 'Double 21.5' });
  });

  it('gives a count or waste of an integer DataType the rollover of its bits; 64-bit, floats and other kinds none', () => {
    expect(value(good(DataType.UInt16, 65535), 'waste')).toEqual({ value: 65535, raw: 'UInt16 65535', rollover: 2 ** 16 });
    expect(value(good(DataType.Int32, 9), 'count')).toMatchObject({ rollover: 2 ** 32 });
    for (const dv of [good(DataType.UInt64, [0, 9]), good(DataType.Int64, [0, 9]), good(DataType.Double, 9), good(DataType.Float, 9)]) {
      expect(value(dv, 'count')).not.toHaveProperty('rollover');
    }
    for (const kind of ['parameter', 'stopReason', 'running'] as const) expect(value(good(DataType.UInt16, 1), kind)).not.toHaveProperty('rollover');
  });

  it('turns 64-bit [high, low] words into numbers while they are exact', () => {
    expect(value(good(DataType.UInt64, [1, 5]))).toEqual({ value: 2 ** 32 + 5, raw: 'UInt64 4294967301' });
    expect(value(good(DataType.Int64, [0xffffffff, 0xfffffffe]))).toEqual({ value: -2, raw: 'Int64 -2' });
    expect(value(good(DataType.UInt64, [0x00400000, 0]))).toEqual({
      error: 'a 64-bit value beyond ±2^53, which cannot be represented exactly',
      raw: 'UInt64 18014398509481984',
    });
  });

  it('takes booleans as run state, as 1/0 for a parameter, and refuses them as a count', () => {
    expect(value(good(DataType.Boolean, true), 'running')).toEqual({ value: true, raw: 'Boolean true' });
    expect(value(good(DataType.Boolean, true), 'parameter')).toEqual({ value: 1, raw: 'Boolean true' });
    expect(value(good(DataType.Boolean, false), 'count')).toEqual({ error: 'type mismatch: Boolean false where a number is expected', raw: 'Boolean false' });
  });

  it('takes text as a stop reason or a parameter, never as a count or waste', () => {
    expect(value(good(DataType.String, 'Setup'), 'stopReason')).toEqual({ value: 'Setup', raw: 'String "Setup"' });
    expect(value(good(DataType.String, '12'), 'count')).toEqual({ error: 'type mismatch: String "12" where a number is expected', raw: 'String "12"' });
    expect(value(good(DataType.String, '12'), 'waste')).toEqual({ error: 'type mismatch: String "12" where a number is expected', raw: 'String "12"' });
    // The MES parameters endpoints take text values ("value1"); scale does not apply to text.
    expect(value(good(DataType.String, 'value1'), 'parameter', { scale: 10 })).toEqual({ value: 'value1', raw: 'String "value1"' });
    expect(value(good(DataType.LocalizedText, { text: 'Rezept A' }), 'parameter')).toEqual({ value: 'Rezept A', raw: 'LocalizedText "Rezept A"' });
    expect(value(good(DataType.String, ''), 'parameter')).toEqual({ error: 'blank text (String "") where a parameter value is expected', raw: 'String ""' });
    expect(value(good(DataType.String, '  '), 'parameter')).toHaveProperty('error');
  });

  it('says what each kind expects when the type does not fit', () => {
    expect(value(good(DataType.String, 'on'), 'running')).toEqual({
      error: 'type mismatch: String "on" where a boolean or number is expected',
      raw: 'String "on"',
    });
    expect(value(good(DataType.Boolean, true), 'stopReason')).toEqual({
      error: 'type mismatch: Boolean true where a number or text is expected',
      raw: 'Boolean true',
    });
    expect(value(good(DataType.UInt16, 1), 'running')).toEqual({ value: 1, raw: 'UInt16 1' });
  });

  it('reports bad and uncertain status codes by name, without a value', () => {
    const bad = (statusCode: typeof StatusCodes.Good) => new DataValue({ value: new Variant({ dataType: DataType.UInt32, value: 9 }), statusCode });
    expect(value(bad(StatusCodes.BadNodeIdUnknown))).toEqual({ error: 'BadNodeIdUnknown' });
    expect(value(bad(StatusCodes.BadWaitingForInitialData))).toEqual({ error: 'BadWaitingForInitialData' });
    expect(value(bad(StatusCodes.UncertainLastUsableValue))).toEqual({ error: 'UncertainLastUsableValue' });
  });

  it('refuses NaN, empty values, arrays and other types', () => {
    expect(value(good(DataType.Float, NaN))).toEqual({ error: 'not a finite number (NaN)', raw: 'Float NaN' });
    expect(value(new DataValue({ statusCode: StatusCodes.Good }))).toEqual({ error: 'no value (Null)', raw: 'Null' });
    expect(value(good(DataType.UInt16, [1, 2], VariantArrayType.Array))).toEqual({
      error: 'an array (UInt16[] [1,2]) where a single value is expected',
      raw: 'UInt16[] [1,2]',
    });
    expect(value(good(DataType.DateTime, new Date(0)))).toEqual({
      error: 'type mismatch: DateTime is not a number, boolean or text',
      raw: 'DateTime "1970-01-01T00:00:00.000Z"',
    });
  });
});

describe('int64Value', () => {
  it('reads the high word as signed only for Int64', () => {
    expect(int64Value([0x80000000, 0], true)).toBe(-(2n ** 63n));
    expect(int64Value([0x80000000, 0], false)).toBe(2n ** 63n);
    expect(int64Value([0, 0xffffffff], true)).toBe(0xffffffffn);
  });
});

describe('variantText', () => {
  it('shows a localized text by its text', () => {
    expect(variantText(new Variant({ dataType: DataType.LocalizedText, value: { text: 'Stau' } }))).toBe('LocalizedText "Stau"');
  });
});
