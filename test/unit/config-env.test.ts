import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

const withPort = (port: string) => validDevice.replace('host: 10.0.0.50', `host: 10.0.0.50\n  port: ${port}`);

describe('${ENV} in configuration values', () => {
  it('turns a value that is only ${VAR} into a number when the variable holds one', () => {
    const f = configFixture({ 'devices/press.yaml': withPort('${PLC_PORT}') });
    const { devices } = loadConfig(f.gatewayFile, { env: { PLC_PORT: '1502' } });
    expect(devices[0]!.config.connection).toMatchObject({ port: 1502 });
  });

  it('uses the default of ${VAR:-default} when the variable is not set', () => {
    const f = configFixture({ 'devices/press.yaml': withPort('${PLC_PORT:-5020}') });
    expect(loadConfig(f.gatewayFile, { env: {} }).devices[0]!.config.connection).toMatchObject({ port: 5020 });
  });

  it('expands variables inside longer text', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'host: plc-${LINE}.plant.local') });
    expect(loadConfig(f.gatewayFile, { env: { LINE: '7' } }).devices[0]!.config.connection).toMatchObject({ host: 'plc-7.plant.local' });
  });

  it('keeps an all-digit secret as text', () => {
    const f = configFixture((dir) => ({
      'gateway.yaml': yaml`
        prodsmart:
          auth:
            apiKey: \${KEY}
            apiSecret: \${SECRET}
        devices: ${dir}/devices
      `,
      'devices/press.yaml': validDevice,
    }));
    expect(loadConfig(f.gatewayFile, { env: { KEY: '0042', SECRET: '123456' } }).gateway.prodsmart.auth).toMatchObject({ apiKey: '0042', apiSecret: '123456' });
  });

  it('gives a quoted "${VAR}" inside { } the type its key needs', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('address: 0,', 'address: "${COUNT_ADDR}",') });
    expect(loadConfig(f.gatewayFile, { env: { COUNT_ADDR: '40' } }).devices[0]!.config.machines[0]!.count).toMatchObject({ address: 40 });
  });

  it('types a whole ${VAR} in a stop reason written inline', () => {
    const f = configFixture({
      'devices/press.yaml': validDevice.replace(
        'count:',
        'running: { area: coil, address: 0 }\n    stopReason: { area: holding, address: "${REASON_ADDR}", default: Unplanned }\n    count:',
      ),
    });
    const machine = loadConfig(f.gatewayFile, { env: { REASON_ADDR: '10' } }).devices[0]!.config.machines[0]!;
    expect(machine.stopReason?.source).toMatchObject({ area: 'holding', address: 10 });
  });

  it('reports a variable that is not set at its position, by name, once', () => {
    const f = configFixture({ 'devices/press.yaml': withPort('${PLC_PORT}') });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_ENV_UNSET',
        variable: 'PLC_PORT',
        file: f.path('devices/press.yaml'),
        line: 5,
        column: 9,
        path: 'connection.port',
        message: 'environment variable PLC_PORT is not set',
      },
    ]);
  });

  it('reports a variable that holds no number where a number is needed', () => {
    const f = configFixture({ 'devices/press.yaml': withPort('${PLC_PORT}') });
    expect(problems(f, { PLC_PORT: 'five-oh-two' })).toEqual([
      expect.objectContaining({ line: 5, path: 'connection.port', message: 'expected a number, got string "five-oh-two"' }),
    ]);
  });
});
