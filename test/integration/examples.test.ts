import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('shipped configuration', () => {
  const dir = tempDir();

  it('every example in devices/examples validates, one per protocol', () => {
    const gatewayFile = join(dir, 'gateway.yaml');
    writeFileSync(gatewayFile, `prodsmart:\n  auth: { apiKey: k, apiSecret: s }\ndevices: ${join(repo, 'devices', 'examples')}\n`);
    const config = loadConfig(gatewayFile, { env: { S7_OPCUA_USER: 'u', S7_OPCUA_PASSWORD: 'p', MQTT_PASSWORD: 'p' } });
    expect(config.devices.map((d) => d.config.protocol).sort()).toEqual(['modbus-rtu', 'modbus-rtu-over-tcp', 'modbus-tcp', 'mqtt', 'opcua']);
  });

  it("validate warns, without failing, that the MQTT example's CA file is not there yet", () => {
    const gatewayFile = join(dir, 'gateway.yaml');
    writeFileSync(gatewayFile, `prodsmart:\n  auth: { apiKey: k, apiSecret: s }\ndevices: ${join(repo, 'devices', 'examples')}\n`);
    const r = spawnSync(process.execPath, [join(repo, 'bin', 'shopfloor-gateway.js'), 'validate', '--config', gatewayFile], {
      env: { ...process.env, S7_OPCUA_USER: 'u', S7_OPCUA_PASSWORD: 'p', MQTT_PASSWORD: 'p' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/WARN .*mqtt-json-sensor\.yaml: connection\.ca \/etc\/shopfloor-gateway\/broker-ca\.pem does not exist/);
  });

  it('the demo configuration validates without any environment, and does not load the examples', () => {
    const config = loadConfig(join(repo, 'config', 'gateway.yaml'), { env: {} });
    expect(config.gateway.simulate).toBeDefined();
    expect(config.devices.map((d) => d.config.device).sort()).toEqual(['packer', 'press-line']);
  });
});
