/**
 * The commissioning page's pure modules (src/web/page/commission-yaml.js, commission-ranges.js):
 * the YAML it writes validates with the gateway's own schema, and a register scan is summarised
 * as the ranges that answered.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deviceSchema } from '../../src/config/schema.js';

// The page's files are plain browser modules without type declarations: loaded by URL.
const page = (name: string) => import(new URL(`../../src/web/page/${name}`, import.meta.url).href);
const { deviceYaml, insertMachine } = await page('commission-yaml.js');
const { rangeText, scanRanges } = await page('commission-ranges.js');

describe('the device YAML the page writes', () => {
  it('is a valid device file for a new Modbus device mapped as count, waste, running, stop reason and parameter', () => {
    const text = deviceYaml({
      device: 'press-7',
      protocol: 'modbus-tcp',
      connection: { host: '10.0.0.7', port: 502, unitId: 3 },
      machines: [
        {
          code: 'PRESS07',
          count: { area: 'holding', address: 0, type: 'uint32', wordOrder: 'little' },
          waste: [{ code: 'Scrap 1', source: { area: 'holding', address: 2, type: 'uint16' } }],
          running: { area: 'coil', address: 0 },
          stopReason: { source: { area: 'holding', address: 10, type: 'uint16' }, map: { 1: 'Maintenance', 2: 'Setup' }, default: 'Unplanned' },
          downtimeType: 'Unplanned',
          parameters: [{ code: 'temperature', source: { area: 'input', address: 0, type: 'int16', scale: 0.1 }, deadband: 0.5 }],
        },
      ],
    });
    const device = deviceSchema.parse(parse(text));
    expect(device.connection).toMatchObject({ host: '10.0.0.7', port: 502, unitId: 3 });
    const m = device.machines[0];
    expect(m.count).toMatchObject({ area: 'holding', address: 0, type: 'uint32', wordOrder: 'little' });
    expect(m.waste).toEqual([{ code: 'Scrap 1', source: expect.objectContaining({ area: 'holding', address: 2 }) }]);
    expect(m.stopReason?.map).toEqual({ 1: 'Maintenance', 2: 'Setup' });
    expect(m.parameters[0]).toMatchObject({ code: 'temperature', deadband: 0.5, source: { scale: 0.1 } });
  });

  it('quotes a code YAML would read as something else (a number, yes/no, a colon)', () => {
    const text = deviceYaml({
      device: 'mqtt-1',
      protocol: 'mqtt',
      connection: { url: 'mqtt://127.0.0.1:1883' },
      machines: [{ code: '0042', count: { topic: 'line/1: count', path: 'a.b' }, parameters: [{ code: 'yes', source: { topic: 't' } }] }],
    });
    const device = deviceSchema.parse(parse(text));
    expect(device.machines[0].code).toBe('0042');
    expect(device.machines[0].count).toMatchObject({ topic: 'line/1: count', path: 'a.b' });
    expect(device.machines[0].parameters[0].code).toBe('yes');
  });

  it('adds a machine to an existing file and keeps its comments and machines', () => {
    const original = readFileSync(new URL('../../devices/press-line.yaml', import.meta.url), 'utf8');
    const text = insertMachine(original, { code: 'PRESS03', count: { area: 'holding', address: 40, type: 'uint16' } });
    expect(text).toContain('# Demo: one Modbus TCP PLC carrying two presses');
    expect(text).toContain('# a 16-bit counter: wraps at 65536');
    const device = deviceSchema.parse(parse(text));
    expect(device.machines.map((m) => m.code)).toEqual(['PRESS03', 'PRESS01', 'PRESS02']);
    expect(device.machines[0]).toMatchObject({ code: 'PRESS03', count: { area: 'holding', address: 40 } });
  });
});

describe('a register scan, summarised', () => {
  it('gives the runs of addresses that answered, were refused and stayed silent', () => {
    const results = [
      ...[3, 0, 1, 2].map((address) => ({ address, value: address })),
      { address: 4, exception: 2 },
      { address: 5, exception: 2 },
      { address: 6, timeout: true },
      ...[20, 21, 23].map((address) => ({ address, value: 0 })),
      { address: 22, value: false },
    ];
    const ranges = scanRanges(results);
    expect(rangeText(ranges.answering)).toBe('0–3, 20–23');
    expect(rangeText(ranges.exception)).toBe('4–5');
    expect(rangeText(ranges.timeout)).toBe('6');
  });
});
