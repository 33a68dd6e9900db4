import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadDeviceFile, resolvePath } from '../../src/config/load.js';
import { configError, configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

describe('loadConfig', () => {
  it('loads the example of the spec', () => {
    const f = configFixture((dir) => ({
      'devices/press.yaml': yaml`
        device: press-plc-1                 # unique id of this connection
        protocol: modbus-tcp                # modbus-tcp | modbus-rtu | modbus-rtu-over-tcp | opcua | mqtt
        connection:                         # per protocol, see below
          host: 10.0.0.50
          port: 502
          unitId: 1
        pollIntervalMs: 1000                # polled protocols (modbus, opcua in poll mode)
        machines:
          - code: PRESS01                   # machine code in the MES
            count:       { area: holding, address: 0, type: uint32 }
            waste:
              - code: Waste1
                source:  { area: holding, address: 2, type: uint16 }
            running:     { area: coil, address: 0 }          # truthy = running
            stopReason:  { area: holding, address: 10, type: uint16,
                           map: { 1: Maintenance, 2: Setup }, default: Unplanned }
            parameters:
              - code: temperature
                source:  { area: input, address: 0, type: float32, scale: 0.1 }
                deadband: 0.5
      `,
      'gateway.yaml': yaml`
        prodsmart:
          baseUrl: https://app.prodsmart.com
          auth:                       # one of: apiKey+apiSecret (Basic) | accessToken | apiKey+apiSecret with tokenAuth: true
            apiKey: \${PRODSMART_API_KEY}
            apiSecret: \${PRODSMART_API_SECRET}
          requestsPerMinute: 100      # this gateway's share of the company's 120/min; never exceeded
          timeoutMs: 10000
        storage:
          path: ./data/gateway.db     # outbox, counter state, history
          retentionDays: 30           # delivered history older than this is pruned
        web:
          listen: 127.0.0.1:8080      # a non-loopback address requires web.token
        devices: ${dir}/devices
        log:
          level: info
      `,
    }));

    const config = loadConfig(f.gatewayFile, { env: { PRODSMART_API_KEY: 'the-key', PRODSMART_API_SECRET: 'the-secret' } });

    expect(config.gatewayFile).toBe(f.gatewayFile);
    expect(config.devicesDir).toBe(f.path('devices'));
    expect(config.gateway.prodsmart.auth).toMatchObject({ apiKey: 'the-key', apiSecret: 'the-secret', tokenAuth: false });
    expect(config.gateway.storage.path).toBe('./data/gateway.db');
    expect(config.devices).toHaveLength(1);
    const [{ file, config: d }] = config.devices as [(typeof config.devices)[number]];
    expect(file).toBe(f.path('devices/press.yaml'));
    expect(d.device).toBe('press-plc-1');
    const m = d.machines[0]!;
    expect(m.stopReason).toEqual({
      source: { area: 'holding', address: 10, type: 'uint16', wordOrder: 'big', byteSwap: false },
      map: { 1: 'Maintenance', 2: 'Setup' },
      default: 'Unplanned',
    });
    expect(m.parameters[0]).toMatchObject({ code: 'temperature', deadband: 0.5, source: { area: 'input', scale: 0.1 } });
  });

  it('applies the defaults of the spec', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    const { gateway, devices } = loadConfig(f.gatewayFile, { env: {} });
    expect(gateway.prodsmart.requestsPerMinute).toBe(100);
    expect(gateway.prodsmart.baseUrl).toBe('https://app.prodsmart.com');
    expect(gateway.web.listen).toBe('127.0.0.1:8080');
    expect(gateway.storage).toEqual({ path: './data/gateway.db', retentionDays: 30 });
    expect(gateway.log.level).toBe('info');
    const d = devices[0]!.config;
    expect(d.connection).toMatchObject({ port: 502, unitId: 1 });
    expect(d.pollIntervalMs).toBe(1000);
    expect(d.machines[0]!.count).toMatchObject({ wordOrder: 'big', byteSwap: false });
  });

  it('loads the *.yaml and *.yml files of the devices folder, not its subfolders', () => {
    const f = configFixture({
      'devices/a.yaml': validDevice,
      'devices/b.yml': validDevice.replace('press-plc-1', 'press-plc-2').replace('PRESS01', 'PRESS02'),
      'devices/examples/broken.yaml': 'device: [',
      'devices/notes.txt': 'not a device',
    });
    expect(loadConfig(f.gatewayFile, { env: {} }).devices.map((d) => d.config.device)).toEqual(['press-plc-1', 'press-plc-2']);
  });

  it('resolves a relative devices folder against the working directory', () => {
    const f = configFixture((dir) => ({
      'gateway.yaml': `prodsmart: { auth: { accessToken: t } }\ndevices: ${relative(process.cwd(), dir)}/devices\n`,
      'devices/press.yaml': validDevice,
    }));
    const rel = relative(process.cwd(), f.path('devices'));
    expect(loadConfig(f.gatewayFile, { env: {} }).devicesDir).toBe(f.path('devices'));
    expect(resolvePath(rel)).toBe(f.path('devices'));
  });

  it('names a missing gateway file', () => {
    const f = configFixture({});
    const missing = f.path('nope/gateway.yaml');
    let err: unknown;
    try {
      loadConfig(missing, { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('SFG_CONFIG_INVALID');
    expect((err as ConfigError).problems.map((p) => p.code)).toEqual(['SFG_CONFIG_NOT_FOUND']);
    expect((err as ConfigError).message).toBe(`${missing}  file not found`);
  });

  it('names a missing devices folder, at the devices key', () => {
    const f = configFixture((dir) => ({ 'gateway.yaml': `prodsmart: { auth: { accessToken: t } }\ndevices: ${dir}/elsewhere\n` }));
    expect(problems(f)).toEqual([
      { code: 'SFG_CONFIG_NOT_FOUND', file: f.gatewayFile, line: 2, column: 10, path: 'devices', message: `devices folder ${f.path('elsewhere')} not found` },
    ]);
  });

  it('says a folder without device files has none', () => {
    const f = configFixture({});
    expect(configError(f).message).toContain(`no device files (*.yaml) in ${f.path('devices')}`);
    expect(configError(f).problems.map((p) => p.code)).toEqual(['SFG_CONFIG_NOT_FOUND']);
  });

  it('says an empty file is empty', () => {
    const f = configFixture({ 'devices/press.yaml': '# nothing yet\n' });
    expect(problems(f)).toEqual([
      {
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 1,
        column: 1,
        path: '',
        message: 'the file is empty; expected a device (device, protocol, connection, machines)',
      },
    ]);
  });

  it('places a YAML syntax error at its line and column', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('type: uint32 }', 'type: uint32') });
    expect(problems(f)).toEqual([
      expect.objectContaining({
        code: 'SFG_CONFIG_YAML',
        file: f.path('devices/press.yaml'),
        line: 8,
        column: 1,
        message: expect.stringMatching(/^YAML syntax error: /),
      }),
    ]);
  });

  it('checks the device files even when gateway.yaml is invalid', () => {
    const f = configFixture((dir) => ({
      'gateway.yaml': `prodsmart: { auth: { apiKey: k } }\ndevices: ${dir}/devices\n`,
      'devices/press.yaml': validDevice.replace('host: 10.0.0.50', 'hots: 10.0.0.50'),
    }));
    expect(problems(f).map((p) => [p.file, p.path])).toEqual([
      [f.gatewayFile, 'prodsmart.auth.apiSecret'],
      [f.path('devices/press.yaml'), 'connection.hots'],
    ]);
  });
});

describe('loadDeviceFile', () => {
  it('loads one device file and locates its keys', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    const d = loadDeviceFile(f.path('devices/press.yaml'), {});
    expect(d.config.machines[0]!.code).toBe('PRESS01');
    expect(d.locate(['machines', 0, 'code'])).toEqual({ line: 6, column: 11 });
  });

  it('throws a ConfigError for an invalid one', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('PRESS01', "''") });
    expect(() => loadDeviceFile(f.path('devices/press.yaml'), {})).toThrow(/press\.yaml:6:11 {2}machines\[0\]\.code {2}expected a non-empty string, got ""/);
  });
});
