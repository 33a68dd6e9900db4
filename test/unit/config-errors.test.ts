import { describe, expect, it } from 'vitest';
import { configError, configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

describe('config error messages', () => {
  it('names file, line and key of a typo and suggests the right key', () => {
    const f = configFixture({
      'devices/press.yaml': yaml`
        device: press-plc-1
        protocol: modbus-tcp
        connection:
          host: 10.0.0.50
        machines:
          - code: PRESS01
            count: { area: holding, addres: 0, type: uint32 }
      `,
    });
    // Only the typo: that address is then missing goes without saying.
    expect(configError(f).message).toBe(`${f.path('devices/press.yaml')}:7:29  machines[0].count.addres  unknown key "addres", did you mean "address"?`);
  });

  it('lists the valid keys when no key is close to the unknown one', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'host: 10.0.0.50\n  flavour: vanilla') });
    expect(problems(f)).toEqual([
      expect.objectContaining({
        line: 5,
        column: 3,
        path: 'connection.flavour',
        message: expect.stringMatching(/unknown key "flavour", expected one of host, port, unitId/),
      }),
    ]);
  });

  it('shows an empty or spaced key quoted, so it never reads as the whole file', () => {
    // A line break typed into a comment leaves ": a packing machine" as a key-less line.
    const f = configFixture({
      'devices/press.yaml': `# Demo\n: a packing machine\n${validDevice}`.replace('host: 10.0.0.50', 'host: 10.0.0.50\n  my port: 5'),
    });
    expect(problems(f).map((p) => [p.line, p.path])).toEqual([
      [2, '[""]'],
      [7, 'connection["my port"]'],
    ]);
  });

  it('says which type was expected and which was found', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'host: 10.0.0.50\n  port: abc') });
    expect(configError(f).message).toBe(`${f.path('devices/press.yaml')}:5:9  connection.port  expected a number, got string "abc"`);
  });

  it('lists the allowed values of an enum and suggests the nearest', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('area: holding', 'area: holdng') });
    expect(problems(f)).toEqual([
      expect.objectContaining({
        line: 7,
        path: 'machines[0].count.area',
        message: 'expected one of holding, input, coil, discrete, got "holdng"; did you mean "holding"?',
      }),
    ]);
  });

  it('reports an unknown protocol with the known ones', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('protocol: modbus-tcp', 'protocol: modbus') });
    expect(problems(f)[0]).toMatchObject({
      line: 2,
      path: 'protocol',
      message: expect.stringContaining('expected one of modbus-tcp, modbus-rtu-over-tcp, modbus-rtu, opcua, mqtt, got "modbus"'),
    });
  });

  it('reports a missing key at the mapping that lacks it', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('address: 0, ', '') });
    expect(problems(f)).toEqual([expect.objectContaining({ line: 7, path: 'machines[0].count.address', message: 'missing, expected a number' })]);
  });

  it('reports every problem of a file at once, in file order', () => {
    const f = configFixture({
      'devices/press.yaml': yaml`
        device: press-plc-1
        protocol: modbus-tcp
        connection:
          host: 10.0.0.50
          port: 70000
        machines:
          - code: PRESS01
            count: { area: holding, address: -1, type: uint33 }
      `,
    });
    expect(problems(f).map((p) => `${p.code} ${p.line} ${p.path}: ${p.message}`)).toEqual([
      'SFG_CONFIG_SCHEMA 5 connection.port: expected 65535 or less, got 70000',
      'SFG_CONFIG_SCHEMA 8 machines[0].count.address: expected 0 or more, got -1',
      expect.stringMatching(/^SFG_CONFIG_SCHEMA 8 machines\[0\]\.count\.type: expected one of bool, int16, .*, got "uint33"; did you mean "uint32"\?$/),
    ]);
  });

  it('accepts a stop reason written inline as in the spec, and locates its errors', () => {
    const f = configFixture({
      'devices/press.yaml': yaml`
        device: press-plc-1
        protocol: modbus-tcp
        connection: { host: 10.0.0.50 }
        machines:
          - code: PRESS01
            running: { area: coil, address: 0 }
            stopReason: { area: holdng, address: 10, map: { 1: Maintenance }, default: Unplanned }
          - code: PRESS02
            running: { area: coil, address: 1 }
            stopReason:
              source: { area: holding, adress: 11 }
              default: Unplanned
      `,
    });
    expect(problems(f).map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      '7:25 machines[0].stopReason.area',
      '11:32 machines[1].stopReason.source.adress',
    ]);
  });

  it('never echoes a secret value', () => {
    const f = configFixture({
      'gateway.yaml': yaml`
        prodsmart:
          auth:
            accessToken: 987654321
        web:
          listen: 0.0.0.0:8080
          token: hunter2secret
        devices: ./devices
      `,
    });
    const message = configError(f).message;
    expect(message).toContain('prodsmart.auth.accessToken  expected a string, got a number (value hidden)');
    expect(message).toContain('web.token  expected a token of at least 16 characters, got a string (value hidden)');
    expect(message).not.toContain('987654321');
    expect(message).not.toContain('hunter2');
  });

  it('never echoes a password that YAML took for an alias (it starts with *)', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'host: 10.0.0.50\n  password: *Plant-Br0ker-Pw') });
    const message = configError(f).message;
    expect(message).toMatch(/press\.yaml:\d+:\d+ .*starts with \* and YAML reads it as an alias.*in quotes/);
    expect(message).not.toContain('Plant-Br0ker');
  });
});
