import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
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

  it('the demo configuration validates without any environment, and does not load the examples', () => {
    const config = loadConfig(join(repo, 'config', 'gateway.yaml'), { env: {} });
    expect(config.gateway.simulate).toBeDefined();
    expect(config.devices.map((d) => d.config.device).sort()).toEqual(['packer', 'press-line']);
  });
});
