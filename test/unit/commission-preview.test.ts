import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadDeviceFile } from '../../src/config/load.js';
import { previewMesBodies } from '../../src/gateway/commission-preview.js';
import { DeviceFiles } from '../../src/web/commission/device-files.js';
import { preview } from '../../src/web/commission/preview.js';
import { ManualClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';

const press = `device: press-1
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: 1502 }
machines:
  - code: M1
    count: { area: holding, address: 0 }
`;

const mapped = `device: press-1
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: 1502 }
machines:
  - code: M1
    count: { area: holding, address: 0, type: uint32 }
    waste:
      - { code: SCRAP, source: { area: holding, address: 2 } }
    running: { area: coil, address: 0 }
    stopReason: { area: holding, address: 4, map: { "3": Jam }, default: Unplanned }
    parameters:
      - { code: TEMP, source: { area: input, address: 0, type: float32 }, deadband: 0.5 }
`;

describe('commissioning preview', () => {
  const root = tempDir();
  let files: DeviceFiles;
  beforeEach(() => {
    mkdirSync(join(root, 'devices'));
    writeFileSync(join(root, 'devices', 'press.yaml'), press);
    writeFileSync(join(root, 'devices', 'other.yaml'), press.replace('press-1', 'oven-1').replace('M1', 'M7'));
    files = new DeviceFiles(join(root, 'devices'), join(root, 'backups'), new ManualClock());
  });
  const others = () => [loadDeviceFile(join(root, 'devices', 'other.yaml'))];

  it('reports problems as validate does, with line, column and key path, and shows no bodies then', () => {
    const typo = press.replace('area: holding', 'area: holdng');
    const p = preview(files, others(), previewMesBodies, 'press.yaml', typo);
    expect(p.problems).toEqual([
      expect.objectContaining({ line: 6, column: 20, path: 'machines[0].count.area', code: 'SFG_CONFIG_SCHEMA', message: expect.stringContaining('holding') }),
    ]);
    expect(p.mesBodies).toEqual([]);
  });

  it('checks against the other device files: a machine code used twice', () => {
    const p = preview(files, others(), previewMesBodies, 'press.yaml', press.replace('M1', 'M7'));
    expect(p.problems).toEqual([expect.objectContaining({ line: 5, path: 'machines[0].code', code: 'SFG_CONFIG_CONFLICT' })]);
  });

  it('gives a unified diff against the file on disk', () => {
    const p = preview(files, others(), previewMesBodies, 'press.yaml', press.replace('address: 0', 'address: 10'));
    expect(p.problems).toEqual([]);
    expect(p.diff).toContain('--- a/press.yaml');
    expect(p.diff).toContain('-    count: { area: holding, address: 0 }');
    expect(p.diff).toContain('+    count: { area: holding, address: 10 }');
    expect(preview(files, others(), previewMesBodies, 'press.yaml', press).diff).toBe('');
  });

  it('shows the bodies the uplink would send for the mapping, not sent', () => {
    const p = preview(files, others(), previewMesBodies, 'press.yaml', mapped);
    expect(p.problems).toEqual([]);
    const bodies = p.mesBodies.map(({ endpoint, path, body }) => ({ endpoint, path, body }));
    expect(bodies).toEqual([
      { endpoint: 'counter', path: '/api/machines/M1/counter', body: { count: 1000, waste: [{ code: 'SCRAP', quantity: 3 }] } },
      { endpoint: 'parameters', path: '/api/machines/M1/parameters', body: { parameters: [{ code: 'TEMP', value: 0 }] } },
      { endpoint: 'startstop', path: '/api/machines/M1/startstop', body: { type: 'Jam', running: 0 } },
      { endpoint: 'startstop', path: '/api/machines/M1/startstop', body: { type: 'Unplanned', running: 0 } },
      { endpoint: 'startstop', path: '/api/machines/M1/startstop', body: { type: 'Unplanned', running: 1 } },
    ]);
  });
});
