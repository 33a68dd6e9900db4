/**
 * Files that are broken in ways a YAML parser or the file system makes dangerous: each is
 * one clear problem at file:line:col, never a stack trace or a misleading message.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configFixture, problems, validDevice } from '../helpers/config-fixture.js';

const aliasBomb = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from(
    { length: 8 },
    (_, i) =>
      `l${i}: &l${i} [${Array(10)
        .fill(i === 0 ? '*a' : `*l${i - 1}`)
        .join(', ')}]`,
  ),
].join('\n');

describe('hostile configuration files', () => {
  it('names a device file whose symbolic links loop, instead of crashing', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    symlinkSync(f.path('devices/loop.yaml'), f.path('devices/loop.yaml'));
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_UNREADABLE',
        file: f.path('devices/loop.yaml'),
        line: 0,
        column: 0,
        path: '',
        message: 'cannot be read: its symbolic links point at each other in a loop',
      },
    ]);
  });

  it('names a devices folder whose symbolic links loop', () => {
    const f = configFixture((dir) => ({ 'gateway.yaml': `prodsmart: { auth: { accessToken: t } }\ndevices: ${dir}/looped\n` }));
    symlinkSync(f.path('looped'), f.path('looped'));
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_UNREADABLE',
        file: f.gatewayFile,
        line: 2,
        column: 10,
        path: 'devices',
        message: `devices folder ${f.path('looped')}: its symbolic links point at each other in a loop`,
      },
    ]);
  });

  it('refuses an alias bomb as too many alias expansions, not as an undefined alias', () => {
    const f = configFixture({ 'devices/press.yaml': aliasBomb });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 2,
        column: 10,
        path: '',
        message: 'aliases expand to more than 10000 values; use each anchor fewer times',
      },
    ]);
  });

  it('still loads a template shared through an anchor by many machines', () => {
    const machines = Array.from({ length: 60 }, (_, i) => `  - code: M${i}\n    count: { <<: *src, address: ${i * 2 + 2} }`).join('\n');
    const template = '  - code: M\n    count: &src { area: holding, type: uint32, wordOrder: big, byteSwap: false, address: 0 }';
    const f = configFixture({ 'devices/press.yaml': `${validDevice.split('machines:')[0]}machines:\n${template}\n${machines}\n` });
    const loaded = loadConfig(f.gatewayFile, { env: {} });
    expect(loaded.devices[0]!.config.machines.map((m) => m.count)).toContainEqual({
      area: 'holding',
      type: 'uint32',
      wordOrder: 'big',
      byteSwap: false,
      address: 120,
    });
    expect(loaded.devices[0]!.config.machines).toHaveLength(61);
  });

  it('says a merge key needs a mapping, at the merge key', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'host: 10.0.0.50\n  <<: 5') });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 5,
        column: 7,
        path: 'connection.<<',
        message: 'a merge key (<<) takes a mapping or an alias of one, such as <<: *template',
      },
    ]);
  });

  it('says a file nested too deeply is nested too deeply, instead of a stack overflow', () => {
    for (const depth of [100, 20_000]) {
      const f = configFixture({ 'devices/press.yaml': `${'['.repeat(depth)}${']'.repeat(depth)}\n` });
      const [p, ...rest] = problems(f);
      expect(rest).toEqual([]);
      expect(p).toMatchObject({
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 1,
        message: 'nesting too deep: more than 64 levels of mappings and lists',
      });
      expect(p!.column).toBeGreaterThan(1);
    }
  });

  it('says so too for block nesting deep enough to overflow the YAML parser itself, at the first line too deep', () => {
    const f = configFixture({ 'devices/press.yaml': `${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')}\n${validDevice}` });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 65,
        column: 65,
        path: '',
        message: 'nesting too deep: more than 64 levels of mappings and lists',
      },
    ]);
  });

  it('refuses a file that is not UTF-8 at the line and column of the first bad byte', () => {
    const f = configFixture({});
    const text = Buffer.from(validDevice.replace('PRESS01', 'PRÉSS\u0000'), 'utf8');
    const bad = text.indexOf(0);
    text[bad] = 0xff;
    writeFileSync(f.path('devices/press.yaml'), text);
    expect(problems(f)).toEqual([
      { code: 'SFG_CONFIG_UNREADABLE', file: f.path('devices/press.yaml'), line: 6, column: 16, path: '', message: 'not UTF-8 text: save the file as UTF-8' },
    ]);
  });
});
