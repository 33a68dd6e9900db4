import { describe, expect, it } from 'vitest';
import { decodePayload, decodeSignal, MAX_PAYLOAD_BYTES, parsePayload, type Decoded } from '../../src/adapters/mqtt/payload.js';
import type { SignalKind } from '../../src/adapters/signals.js';

const decode = (payload: string, kind: SignalKind, path?: string, scale?: number, offset?: number): Decoded =>
  decodePayload(Buffer.from(payload), { path, scale, offset }, kind);
const value = (d: Decoded) => (d.ok ? d.value : `ERROR ${d.error}`);

describe('bare payloads', () => {
  it('reads numbers as text or JSON scalars', () => {
    expect(value(decode('42', 'count'))).toBe(42);
    expect(value(decode(' 17.5\n', 'waste'))).toBe(17.5);
    expect(value(decode('"12"', 'count'))).toBe(12);
    expect(value(decode('-3e2', 'parameter'))).toBe(-300);
  });

  it('applies scale then offset', () => {
    expect(value(decode('250', 'parameter', undefined, 0.1, -5))).toBeCloseTo(20);
    expect(value(decode('{"t":250}', 'parameter', 't', 0.1))).toBeCloseTo(25);
  });

  it('reads run/stop words case-insensitively', () => {
    const cases: [string, boolean][] = [
      ['ON', true],
      ['off', false],
      ['true', true],
      ['False', false],
      ['1', true],
      ['0', false],
      ['RUN', true],
      ['Stop', false],
      ['running', true],
      ['STOPPED', false],
      ['"on"', true],
      ['2', true],
    ];
    for (const [text, expected] of cases) expect(value(decode(text, 'running')), text).toBe(expected);
  });

  it('does not scale the running state', () => {
    expect(value(decode('0', 'running', undefined, 10, 1))).toBe(false);
  });

  it('takes text for stop reasons and parameters', () => {
    expect(value(decode('Maintenance', 'stopReason'))).toBe('Maintenance');
    expect(value(decode('"Setup"', 'stopReason'))).toBe('Setup');
    expect(value(decode('3', 'stopReason'))).toBe(3);
    expect(value(decode('blue', 'parameter'))).toBe('blue');
    expect(value(decode('true', 'parameter'))).toBe(true);
  });

  it('rejects what is not a count', () => {
    for (const bad of ['abc', 'NaN', 'Infinity', '-Infinity', '0x10', '1e400', 'true', 'null', '"12a"', '""']) {
      const d = decode(bad, 'count');
      expect(d.ok, bad).toBe(false);
    }
    expect(decode('abc', 'count')).toEqual({ ok: false, error: 'not a number: "abc"' });
  });

  it('rejects JSON documents without a path, and empty payloads', () => {
    expect(value(decode('{"a":1}', 'count'))).toMatch(/JSON object; set path/);
    expect(value(decode('[1]', 'count'))).toMatch(/JSON array; set path/);
    expect(value(decode('', 'stopReason'))).toMatch(/empty payload/);
  });

  it('rejects unknown run/stop words and wrong types', () => {
    expect(value(decode('maybe', 'running'))).toMatch(/not a run\/stop state: "maybe"/);
    expect(value(decode('constructor', 'running'))).toMatch(/not a run\/stop state/);
    expect(value(decode('false', 'stopReason'))).toMatch(/not a stop reason/);
    expect(value(decode('"  "', 'parameter'))).toMatch(/not a parameter value/);
  });
});

describe('JSON paths', () => {
  const doc = JSON.stringify({
    data: { counter: 1234, state: 'RUNNING', text: '77', nested: { deep: [5, { x: 9 }] } },
    values: [10, 20],
    bad: { nan: 'NaN', obj: {}, arr: [], nul: null, str: 'abc' },
  });

  it('follows keys and array indices', () => {
    expect(value(decode(doc, 'count', 'data.counter'))).toBe(1234);
    expect(value(decode(doc, 'count', 'values.1'))).toBe(20);
    expect(value(decode(doc, 'parameter', 'data.nested.deep.1.x'))).toBe(9);
    expect(value(decode(doc, 'running', 'data.state'))).toBe(true);
    expect(value(decode(doc, 'count', 'data.text'))).toBe(77);
  });

  it('keeps the JSON fragment as raw', () => {
    const d = decode(doc, 'count', 'data.counter', 2);
    expect(d).toEqual({ ok: true, value: 2468, raw: 1234 });
  });

  it('reports a missing path with the first missing part', () => {
    expect(value(decode(doc, 'count', 'data.missing.x'))).toBe('ERROR path data.missing.x: nothing at data.missing');
    expect(value(decode(doc, 'count', 'values.2'))).toMatch(/nothing at values.2/);
    expect(value(decode(doc, 'count', 'values.x'))).toMatch(/nothing at values.x/);
    expect(value(decode(doc, 'count', 'data.counter.x'))).toMatch(/nothing at data.counter.x/);
    expect(value(decode(doc, 'count', 'constructor'))).toMatch(/nothing at constructor/);
    expect(value(decode(doc, 'count', '__proto__'))).toMatch(/nothing at __proto__/);
  });

  it('rejects non-numbers for counts', () => {
    expect(value(decode(doc, 'count', 'bad.nan'))).toBe('ERROR not a number: "NaN"');
    expect(value(decode(doc, 'count', 'bad.obj'))).toBe('ERROR not a number: an object');
    expect(value(decode(doc, 'count', 'bad.arr'))).toBe('ERROR not a number: an array');
    expect(value(decode(doc, 'waste', 'bad.nul'))).toBe('ERROR not a number: null');
    expect(value(decode(doc, 'count', 'bad.str'))).toBe('ERROR not a number: "abc"');
  });

  it('needs JSON when a path is set', () => {
    expect(value(decode('42', 'count', 'data.counter'))).toMatch(/nothing at data/);
    expect(value(decode('counter=42', 'count', 'data.counter'))).toMatch(/^ERROR payload is not JSON .*counter=42$/);
  });

  it('rejects a result that overflows after scaling', () => {
    expect(value(decode('1e300', 'parameter', undefined, 1e300))).toMatch(/not finite after scale/);
  });
});

describe('size limit', () => {
  it('rejects payloads over 64 KiB without parsing them', () => {
    const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x31);
    expect(parsePayload(big)).toEqual({ error: 'payload of 65537 bytes exceeds the 64 KiB limit' });
    expect(value(decodePayload(big, {}, 'count'))).toMatch(/exceeds the 64 KiB limit/);
  });

  it('accepts a payload of exactly 64 KiB', () => {
    const doc = `{"n":1,"pad":"${'x'.repeat(MAX_PAYLOAD_BYTES - 16)}"}`;
    expect(Buffer.byteLength(doc)).toBe(MAX_PAYLOAD_BYTES);
    expect(value(decode(doc, 'count', 'n'))).toBe(1);
  });

  it('parses once for several signals of one topic', () => {
    const p = parsePayload(Buffer.from('{"a":1,"b":"ON"}'));
    if ('error' in p) throw new Error(p.error);
    expect(value(decodeSignal(p, { path: 'a' }, 'count'))).toBe(1);
    expect(value(decodeSignal(p, { path: 'b' }, 'running'))).toBe(true);
  });
});
