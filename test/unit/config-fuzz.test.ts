/**
 * Property tests of the configuration loader: mutated example files, random documents
 * and random bytes either load or are refused with a ConfigError whose every problem has
 * file:line:col and a message (and the key path when it is about a key). Nothing else is
 * ever thrown: no stack overflow, no TypeError, no unhandled file system error.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/load.js';
import { configFixture, type ConfigFixture } from '../helpers/config-fixture.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const examples = [join(repo, 'devices'), join(repo, 'devices', 'examples')].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f))),
);
const env = { S7_OPCUA_USER: 'u', S7_OPCUA_PASSWORD: 'p', MQTT_PASSWORD: 'p', NUM: '12', EMPTY: '' };

/** What YAML and the loader give meaning to, so mutations reach the interesting paths. */
const tokens = [
  '\n',
  '  ',
  ': ',
  '- ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '&a ',
  '*a',
  '<<: *a',
  '<<: 5',
  '!!binary ',
  '!!map ',
  '"',
  "'",
  '# ',
  '${NUM}',
  '${',
  '${UNSET}',
  '\u0000',
  '\t',
  '%YAML 1.2\n---\n',
  '---\n',
  '...\n',
  '? ',
  '|\n',
  '>\n',
  'null',
  '~',
  '1e12',
  '-1',
  '0x1F',
  '.inf',
  '\ufeff',
  'é',
  '\ud800',
  'https://k:s@h',
  'opc.tcp://u:p@h:4840',
  '3e9',
  '1e12',
];
/** Nesting far beyond any real file, up to where the YAML parser itself runs out of stack. */
const nesting = fc
  .integer({ min: 50, max: 3000 })
  .chain((n) => fc.constantFrom('['.repeat(n), '{a: '.repeat(n), Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:\n`).join('')));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...tokens) },
      { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
      { weight: 1, arbitrary: nesting },
    ),
  }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }), times: fc.integer({ min: 2, max: 50 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(file: Buffer, m: Mutation): Buffer {
  const at = file.length === 0 ? 0 : m.at % (file.length + 1);
  switch (m.kind) {
    case 'delete':
      return Buffer.concat([file.subarray(0, at), file.subarray(at + m.len)]);
    case 'insert':
      return Buffer.concat([file.subarray(0, at), Buffer.from(m.text), file.subarray(at)]);
    case 'byte':
      return Buffer.concat([file.subarray(0, at), Buffer.of(m.byte), file.subarray(at + 1)]);
    case 'repeat':
      return Buffer.concat([file.subarray(0, at), ...Array<Buffer>(m.times).fill(file.subarray(at, at + m.len)), file.subarray(at + m.len)]);
  }
}

/** Loads the fixture with `text` as a device file; fails the property on anything but a clear refusal. */
function loadsOrExplains(f: ConfigFixture, text: Buffer | string): void {
  writeFileSync(f.path('devices/fuzz.yaml'), text);
  try {
    const loaded = loadConfig(f.gatewayFile, { env });
    for (const d of loaded.devices) saneValues(d.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.problems.length).toBeGreaterThan(0);
    for (const p of err.problems) {
      const shown = formatProblem(p);
      expect(shown, shown).toMatch(/^\S+\.yaml:\d+:\d+ {2}\S/);
      expect(p.line, shown).toBeGreaterThanOrEqual(1);
      expect(p.column, shown).toBeGreaterThanOrEqual(1);
      expect(p.message, shown).not.toMatch(/undefined|\[object|Maximum call stack|NaN|Symbol\(/);
      // Only the document itself, when it is not a mapping, is a problem without a key.
      if (/^(expected|missing|unknown key)/.test(p.message) && !p.message.startsWith('expected a mapping')) expect(p.path, shown).not.toBe('');
    }
  }
}

/** Node timers fire at once above this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a loaded configuration must never hold: a duration a timer cannot keep, a code the MES can never match. */
function saneValues(value: unknown, key = ''): void {
  if (Array.isArray(value)) for (const v of value) saneValues(v, key);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) saneValues(v, key === 'map' ? 'code' : k);
  else if (typeof value === 'number' && /Ms$/.test(key)) expect(value, key).toBeLessThanOrEqual(MAX_TIMER_MS);
  else if (typeof value === 'number' && /Seconds$/.test(key)) expect(value * 1000, key).toBeLessThanOrEqual(MAX_TIMER_MS);
  else if (typeof value === 'string' && ['code', 'downtimeType', 'default'].includes(key)) expect(value, key).not.toMatch(/[\p{Cc}\p{Cs}]/u);
}

describe('configuration loader under arbitrary input', () => {
  it('mutated example device files load or are refused with located problems', () => {
    const f = configFixture({});
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.array(mutation, { minLength: 1, maxLength: 4 }), (example, ms) => {
        loadsOrExplains(f, ms.reduce(mutate, example));
      }),
      { numRuns: 80 },
    );
  });

  it('random documents of device-file keys load or are refused with located problems', () => {
    const f = configFixture({});
    const key = fc.constantFrom(
      'device',
      'protocol',
      'connection',
      'machines',
      'code',
      'count',
      'area',
      'address',
      'type',
      'host',
      'port',
      'nodeId',
      'topic',
      'path',
      'map',
      'default',
      'waste',
      'source',
      'stopReason',
      'running',
      'parameters',
      'bit',
      'url',
      'endpointUrl',
      'pollIntervalMs',
      'password',
    );
    const leaf = fc.oneof(
      fc.constantFrom('modbus-tcp', 'mqtt', 'opcua', 'modbus-rtu', 'holding', 'coil', 'uint32', 'bool', 'ns=3;s=X', 'a/b', '${NUM}', 'P\u0000'),
      fc.integer(),
      fc.double(),
      fc.constantFrom(1e12, 3e9, 2 ** 31, 86400 * 30),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 10 }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(key, tie('tree'), { maxKeys: 6 })),
    }));
    fc.assert(
      fc.property(fc.dictionary(key, tree, { maxKeys: 8 }), (doc) => loadsOrExplains(f, stringify(doc))),
      { numRuns: 80 },
    );
  });

  it('random bytes and text are refused with located problems', () => {
    const f = configFixture({});
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
          fc.string({ unit: 'binary', maxLength: 400 }),
        ),
        (input) => {
          loadsOrExplains(f, input);
        },
      ),
      { numRuns: 50 },
    );
  });
});
