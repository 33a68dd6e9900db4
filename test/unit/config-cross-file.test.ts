import { describe, expect, it } from 'vitest';
import { configError, configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

const rtu = (id: string, code: string, baudRate: number) => yaml`
  device: ${id}
  protocol: modbus-rtu
  connection:
    path: /dev/ttyUSB0
    baudRate: ${baudRate}
  machines:
    - code: ${code}
      count: { area: holding, address: 0 }
`;

describe('rules across device files', () => {
  it('rejects a machine code used in two files, naming both', () => {
    const f = configFixture({
      'devices/a.yaml': validDevice,
      'devices/b.yaml': validDevice.replace('press-plc-1', 'press-plc-2'),
    });
    expect(configError(f).message).toBe(
      `${f.path('devices/b.yaml')}:6:11  machines[0].code  machine code PRESS01 is also used in ${f.path('devices/a.yaml')}:6:11; each machine code must be unique`,
    );
  });

  it('rejects a machine code used twice in one file', () => {
    const f = configFixture({ 'devices/a.yaml': `${validDevice}  - code: PRESS01\n    count: { area: holding, address: 4 }\n` });
    expect(problems(f)).toEqual([expect.objectContaining({ line: 8, path: 'machines[1].code', message: expect.stringContaining('also used in') })]);
  });

  it('rejects two files with the same device id, naming both', () => {
    const f = configFixture({
      'devices/a.yaml': validDevice,
      'devices/b.yaml': validDevice.replace('PRESS01', 'PRESS02'),
    });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_CONFLICT',
        file: f.path('devices/b.yaml'),
        line: 1,
        column: 9,
        path: 'device',
        message: `device id press-plc-1 is also used in ${f.path('devices/a.yaml')}:1:9; each device needs its own id`,
      },
    ]);
  });

  it('rejects devices on one serial port with different line settings', () => {
    const f = configFixture({ 'devices/a.yaml': rtu('drive-1', 'M1', 19200), 'devices/b.yaml': rtu('drive-2', 'M2', 9600) });
    expect(problems(f)).toEqual([
      expect.objectContaining({
        file: f.path('devices/b.yaml'),
        path: 'connection.baudRate',
        message: `serial port /dev/ttyUSB0 is also used by ${f.path('devices/a.yaml')}:4:9 with baudRate 19200; devices on one bus must use the same baudRate`,
      }),
    ]);
  });
});
