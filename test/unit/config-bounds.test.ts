/**
 * Numbers that parse but would make the gateway misbehave (a timer that overflows fires at
 * once) and codes the MES could never match are refused, naming the bound.
 */
import { describe, expect, it } from 'vitest';
import { configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

function deviceProblems(text: string): string[] {
  const f = configFixture({ 'devices/press.yaml': text });
  return problems(f).map((p) => `${p.path}  ${p.message}`);
}

describe('bounds of configuration numbers', () => {
  it('refuses durations above what a timer can hold, naming the bound', () => {
    const text = validDevice
      .replace('host: 10.0.0.50', 'host: 10.0.0.50\n  timeoutMs: 3e9')
      .replace('machines:', 'pollIntervalMs: 1e12\nmachines:')
      .replace('type: uint32 }', 'type: uint32 }\n    minStateSeconds: 1e9\n    stopWhenIdleSeconds: 1e7\n    downtimeType: Idle');
    expect(deviceProblems(text)).toEqual([
      'connection.timeoutMs  expected at most 300000 (5 minutes), got 3000000000',
      'pollIntervalMs  expected at most 3600000 (1 hour), got 1000000000000',
      'machines[0].minStateSeconds  expected at most 3600 (1 hour), got 1000000000',
      'machines[0].stopWhenIdleSeconds  expected at most 86400 (24 hours), got 10000000',
    ]);
  });

  it('refuses a fractional poll interval and an OPC UA sampling interval above an hour', () => {
    const opcua = yaml`
      device: line
      protocol: opcua
      pollIntervalMs: 250.5
      connection:
        endpointUrl: opc.tcp://10.0.0.60:4840
        samplingIntervalMs: 86400000
      machines:
        - code: LINE1
          count: { nodeId: ns=3;s=Counter }
    `;
    expect(deviceProblems(opcua)).toEqual([
      'pollIntervalMs  expected a whole number, got number 250.5',
      'connection.samplingIntervalMs  expected at most 3600000 (1 hour), got 86400000',
    ]);
  });

  it('refuses a gateway timeout and a retention that would overflow', () => {
    const f = configFixture((dir) => ({
      'gateway.yaml': yaml`
        prodsmart:
          auth: { accessToken: t }
          timeoutMs: 1e10
        storage:
          retentionDays: 1e6
        devices: ${dir}/devices
      `,
      'devices/press.yaml': validDevice,
    }));
    expect(problems(f).map((p) => `${p.path}  ${p.message}`)).toEqual([
      'prodsmart.timeoutMs  expected at most 300000 (5 minutes), got 10000000000',
      'storage.retentionDays  expected at most 3650 (10 years), got 1000000',
    ]);
  });
});

describe('codes', () => {
  it('refuses a control character or a broken escape in a machine, waste, parameter or downtime code', () => {
    const text = yaml`
      device: press-plc-1
      protocol: modbus-tcp
      connection: { host: 10.0.0.50 }
      machines:
        - code: "PRESS\\0"
          count: { area: holding, address: 0 }
          waste:
            - { code: "Scrap\\ud800", source: { area: holding, address: 2 } }
          parameters:
            - { code: "temp\\tC", source: { area: holding, address: 4 } }
          running: { area: coil, address: 0 }
          downtimeType: "Set\\nup"
    `;
    const phrase = 'expected text without control characters (NUL, tab, line break) or broken escapes';
    expect(deviceProblems(text)).toEqual([
      `machines[0].code  ${phrase}, got "PRESS\\u0000"`,
      `machines[0].waste[0].code  ${phrase}, got "Scrap\\ud800"`,
      `machines[0].parameters[0].code  ${phrase}, got "temp\\tC"`,
      `machines[0].downtimeType  ${phrase}, got "Set\\nup"`,
    ]);
  });

  it('accepts codes in any script', () => {
    const f = configFixture({ 'devices/press.yaml': validDevice.replace('PRESS01', 'Prasa-Łódź-压机') });
    expect(() => problems(f)).toThrow('expected the configuration to be rejected');
  });
});
