/**
 * Property tests of the MQTT payload decoder: whatever a publisher sends (bytes, text,
 * JSON of any shape, any path), the decoder returns a value or a reason, never throws,
 * and a count is only ever a finite number.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, type Decoded } from '../../src/adapters/mqtt/payload.js';
import type { SignalKind } from '../../src/adapters/signals.js';

const kinds: SignalKind[] = ['count', 'waste', 'running', 'stopReason', 'parameter'];

const source = fc.record(
  {
    path: fc.oneof(fc.constantFrom('value', 'data.counter', 'values.0', 'a.b.c', '__proto__', 'constructor', 'length', '0'), fc.string({ maxLength: 20 })),
    scale: fc.double(),
    offset: fc.double(),
  },
  { requiredKeys: [] },
);

/** Payload bytes: raw, text, JSON of any shape, and JSON with a counter at the usual path. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.record({ data: fc.record({ counter: fc.oneof(fc.double(), fc.string(), fc.jsonValue()) }) }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.constantFrom('[', '{"a":', 'NaN', 'Infinity', '-0', '1e309', '0x10', ' 12 ', '"12"', 'true', 'null', '').map((s) => Buffer.from(s)),
  fc.nat({ max: 2000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))),
);

function checkDecoded(d: Decoded, kind: SignalKind): void {
  if (!d.ok) {
    expect(typeof d.error).toBe('string');
    expect(d.error.length).toBeGreaterThan(0);
    return;
  }
  if (kind === 'count' || kind === 'waste') expect(Number.isFinite(d.value)).toBe(true);
  if (kind === 'running') expect(typeof d.value).toBe('boolean');
  if (typeof d.value === 'number') expect(Number.isFinite(d.value)).toBe(true);
}

describe('MQTT payload decoder under arbitrary input', () => {
  it('returns a value or a reason for any payload, path and kind, and never throws', () => {
    fc.assert(
      fc.property(payload, source, fc.constantFrom(...kinds), (buf, src, kind) => {
        checkDecoded(decodePayload(Buffer.from(buf), src, kind), kind);
      }),
      { numRuns: 1000 },
    );
  });
});
