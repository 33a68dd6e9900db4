/**
 * The commissioning page's pure modules (src/web/page/commission-yaml.js, commission-logic.js):
 * the YAML it writes validates with the gateway's own schema, and what it works out from scans
 * and reads is what the technician is shown.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deviceSchema } from '../../src/config/schema.js';

// The page's files are plain browser modules without type declarations: loaded by URL.
const page = (name: string) => import(new URL(`../../src/web/page/${name}`, import.meta.url).href);
const { deviceYaml, insertMachine } = await page('commission-yaml.js');
const { answeringRanges, hmiMatch, jsonPaths, modiconAddress, parseHmi, sampleTrend } = await page('commission-logic.js');

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

describe('what the page works out', () => {
  it('summarises a register scan as the runs of addresses that answered', () => {
    const results = [
      ...[0, 1, 2, 3].map((address) => ({ address, value: address })),
      { address: 4, exception: 2 },
      { address: 5, timeout: true },
      ...[20, 21, 23].map((address) => ({ address, value: 0 })),
    ];
    expect(answeringRanges(results)).toEqual([
      { from: 0, to: 3 },
      { from: 20, to: 21 },
      { from: 23, to: 23 },
    ]);
  });

  it('matches the value typed from the HMI, with a decimal comma, to a float and to a scaled integer', () => {
    const hmi = parseHmi('23,45');
    expect(hmi).toEqual({ value: 23.45, decimals: 2 });
    expect(hmiMatch(23.450000762939453, hmi)).toBe(1); // float32 of 23.45
    expect(hmiMatch(2345, hmi)).toBe(0.01);
    expect(hmiMatch(23.5, hmi)).toBeUndefined();
    expect(hmiMatch(1.1e-41, hmi)).toBeUndefined(); // the same words read in the wrong order
    expect(parseHmi('1 234')).toEqual({ value: 1234, decimals: 0 });
    expect(parseHmi('12 kg')).toBeUndefined();
  });

  it('names addresses as the HMI does: 40001 for holding 0, 30001, 10001, 00001', () => {
    expect(modiconAddress('holding', 0)).toBe('40001');
    expect(modiconAddress('input', 9)).toBe('30010');
    expect(modiconAddress('discrete', 0)).toBe('10001');
    expect(modiconAddress('coil', 0)).toBe('00001');
    expect(modiconAddress('holding', 20000)).toBe('420001');
  });

  it('lists the JSON paths of an MQTT payload in the syntax of the source path', () => {
    expect(jsonPaths({ machine: { count: 5, state: 'RUN' }, temps: [20.5, 21] })).toEqual([
      { path: 'machine.count', value: 5 },
      { path: 'machine.state', value: 'RUN' },
      { path: 'temps.0', value: 20.5 },
      { path: 'temps.1', value: 21 },
    ]);
  });

  it('marks a value that only rises as a likely counter and a flipping bit as likely run/stop', () => {
    expect(sampleTrend([5, 5, 7, 9])).toBe('counter');
    expect(sampleTrend([5, 7, 6])).toBeUndefined();
    expect(sampleTrend([true, false, true])).toBe('runstop');
    expect(sampleTrend([1, 1, 1])).toBeUndefined();
    expect(sampleTrend([1, 2])).toBeUndefined();
  });
});
