import { describe, expect, it } from 'vitest';
import { main as probe } from '../../src/cli/probe.js';
import { main as validate } from '../../src/cli/validate.js';
import { main as cli } from '../../src/cli/main.js';
import { configFixture, validDevice } from '../helpers/config-fixture.js';
import { captureOutput, restoreOutputAfterEach } from '../helpers/capture-output.js';

restoreOutputAfterEach();

describe('validate', () => {
  it('prints OK with the devices and machines of a good configuration', async () => {
    const f = configFixture({
      'devices/press.yaml': validDevice,
      'devices/packer.yaml': validDevice.replace('press-plc-1', 'packer').replace('PRESS01', 'PACK01\n  - code: PACK02'),
    });
    const io = captureOutput();
    expect(await validate(['--config', f.gatewayFile])).toBe(0);
    expect(io.stdout()).toBe(
      [
        `OK  ${f.gatewayFile}: 2 devices, 3 machines`,
        '  DEVICE       PROTOCOL    MACHINES',
        '  packer       modbus-tcp  PACK01, PACK02',
        '  press-plc-1  modbus-tcp  PRESS01',
        '',
      ].join('\n'),
    );
    expect(io.stderr()).toBe('');
  });

  it('prints every problem and exits 1 for a bad configuration', async () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('area: holding', 'area: holdng').replace('host:', 'hots:') });
    const io = captureOutput();
    expect(await validate(['--config', f.gatewayFile])).toBe(1);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toBe(
      [
        `${f.path('devices/press.yaml')}:4:3  connection.hots  unknown key "hots", did you mean "host"?`,
        `${f.path('devices/press.yaml')}:7:20  machines[0].count.area  expected one of holding, input, coil, discrete, got "holdng"; did you mean "holding"?`,
        '',
        `INVALID  ${f.gatewayFile}: 2 problems`,
        '',
      ].join('\n'),
    );
  });

  it('rejects an unknown option with the usage', async () => {
    const io = captureOutput();
    expect(await cli(['validate', '--confg', 'x.yaml'])).toBe(2);
    expect(io.stderr()).toBe('unknown option --confg; did you mean --config?\nusage: shopfloor-gateway validate [--config FILE]\n');
  });
});

describe('probe', () => {
  it('lists the known devices when asked for an unknown one', async () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    const io = captureOutput();
    expect(await probe(['press-plc-9', '--config', f.gatewayFile])).toBe(2);
    expect(io.stderr()).toBe('unknown device "press-plc-9"; known: press-plc-1\n');
  });
});
