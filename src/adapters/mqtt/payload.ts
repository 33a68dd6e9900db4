/**
 * MQTT payload → signal value. Pure: no I/O, no clock.
 *
 * Rules (what a plant integrator may publish):
 * - Payloads over 64 KiB are rejected unread: no sensor sends that much, and parsing it
 *   on a Raspberry Pi for every message would let one bad publisher starve the gateway.
 * - Without `path` the whole payload is the value: `42`, `true`, `"Setup"` (JSON scalars)
 *   or plain text (`ON`, `Maintenance`). A JSON object or array needs a `path`.
 * - With `path` the payload must be JSON and the path (dot-separated keys, array indices
 *   as numbers: `data.counter`, `values.0`) must lead to a value.
 * - count, waste: a finite number, or a string that is exactly a decimal number ("12",
 *   "-3.5e2") because many gateways stringify numbers. Anything else ("abc", "", "NaN",
 *   "Infinity", "0x10", booleans, null, objects, arrays) is an error. Whether the number
 *   is a count at all (a non-negative integer in range: not -5, 112.5, 1e20) is decided for
 *   every protocol alike in machine/count-value.ts.
 * - running: booleans; numbers (0 = stopped, any other = running, as with a PLC bit);
 *   case-insensitive text true/false, on/off, run/stop, running/stopped, 1/0.
 * - stopReason: a number or any text (the machine's `map` turns codes into downtime types).
 * - parameter: a number, other non-blank text, or a boolean.
 * - Decimal text counts as a number for every kind; scale/offset apply to every number
 *   except `running`.
 */
import type { MqttSource } from '../../config/schema.js';
import { scaled, type SignalKind } from '../signals.js';
import type { SignalValue } from '../../core/values.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type Decoded = { ok: true; value: SignalValue; raw: unknown } | { ok: false; error: string };

/** A received payload, parsed once however many signals share its topic. */
export interface Payload {
  text: string;
  json: { ok: true; value: unknown } | { ok: false; error: string };
}

type SourceOptions = Pick<MqttSource, 'path' | 'scale' | 'offset'>;

export function parsePayload(buf: Buffer): Payload | { error: string } {
  if (buf.length > MAX_PAYLOAD_BYTES) return { error: `payload of ${buf.length} bytes exceeds the ${MAX_PAYLOAD_BYTES / 1024} KiB limit` };
  const text = buf.toString('utf8').trim();
  try {
    return { text, json: { ok: true, value: JSON.parse(text) } };
  } catch (e) {
    return { text, json: { ok: false, error: (e as Error).message } };
  }
}

export function decodeSignal(payload: Payload, source: SourceOptions, kind: SignalKind): Decoded {
  const found = extract(payload, source.path);
  if ('error' in found) return { ok: false, error: found.error };
  const error = (why: string): Decoded => ({ ok: false, error: `${why}: ${describe(found.raw)}` });
  const raw = found.raw;

  if (kind === 'running') {
    const state = runState(raw);
    return state === undefined ? error('not a run/stop state') : { ok: true, value: state, raw };
  }
  const n = toNumber(raw);
  if (n !== undefined) {
    const value = scaled(n, source);
    return Number.isFinite(value) ? { ok: true, value, raw } : error('not finite after scale/offset');
  }
  if (kind === 'count' || kind === 'waste') return error('not a number');
  if (typeof raw === 'string' && (kind === 'stopReason' || raw.trim() !== '')) return { ok: true, value: raw, raw };
  if (typeof raw === 'boolean' && kind === 'parameter') return { ok: true, value: raw, raw };
  return error(kind === 'stopReason' ? 'not a stop reason (text or number)' : 'not a parameter value');
}

/** Convenience for one signal: parse and decode. */
export function decodePayload(buf: Buffer, source: SourceOptions, kind: SignalKind): Decoded {
  const payload = parsePayload(buf);
  return 'error' in payload ? { ok: false, error: payload.error } : decodeSignal(payload, source, kind);
}

function extract(payload: Payload, path: string | undefined): { raw: unknown } | { error: string } {
  if (payload.text === '') return { error: 'empty payload' };
  if (path === undefined) {
    if (!payload.json.ok) return { raw: payload.text };
    const v = payload.json.value;
    if (v !== null && typeof v === 'object') return { error: `payload is a JSON ${Array.isArray(v) ? 'array' : 'object'}; set path to pick a value` };
    return { raw: v };
  }
  if (!payload.json.ok) return { error: `payload is not JSON (${payload.json.error}): ${excerpt(payload.text)}` };
  let at: unknown = payload.json.value;
  const keys = path.split('.');
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    // Own properties only, so a path like `constructor` never reaches the prototype.
    const has = Array.isArray(at) ? /^\d+$/.test(key) && Number(key) < at.length : at !== null && typeof at === 'object' && Object.hasOwn(at, key);
    if (!has) return { error: `path ${path}: nothing at ${keys.slice(0, i + 1).join('.')}` };
    at = (at as Record<string, unknown>)[key];
  }
  return { raw: at };
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === 'string' && DECIMAL.test(raw.trim())) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const RUN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['on', true],
  ['run', true],
  ['running', true],
  ['false', false],
  ['off', false],
  ['stop', false],
  ['stopped', false],
]);

function runState(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const n = toNumber(raw);
  if (n !== undefined) return n !== 0;
  if (typeof raw === 'string') return RUN_WORDS.get(raw.trim().toLowerCase());
  return undefined;
}

function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'an array';
  if (raw !== null && typeof raw === 'object') return 'an object';
  return excerpt(typeof raw === 'string' ? JSON.stringify(raw) : String(raw));
}

/** The start of a text, for messages and probe tables. */
export function excerpt(text: string, max = 60): string {
  const flat = text.replace(/[\u0000-\u001f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * The values of a JSON payload with the `path` that reaches each (`data.counter`,
 * `values.0`), for picking one in commissioning; at most `max`, depth first. Keys with a
 * dot cannot be written as a path and are left out. A bare value has the path `undefined`.
 */
export function valuePaths(payload: Payload, max = 200): { path?: string; value: unknown }[] {
  if (!payload.json.ok) return payload.text === '' ? [] : [{ value: payload.text }];
  const out: { path?: string; value: unknown }[] = [];
  const stack: [string | undefined, unknown][] = [[undefined, payload.json.value]];
  while (stack.length > 0 && out.length < max) {
    const [path, v] = stack.pop()!;
    if (v === null || typeof v !== 'object') {
      out.push(path === undefined ? { value: v } : { path, value: v });
      continue;
    }
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    for (const [k, x] of entries.reverse()) if (!k.includes('.') && k !== '') stack.push([path === undefined ? k : `${path}.${k}`, x]);
  }
  return out;
}
