/** Writes a gateway.yaml and device files into a folder, for tests that run the real gateway. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestConfig {
  dir: string;
  gatewayFile: string;
  dbPath: string;
}

export function writeConfig(
  dir: string,
  opts: {
    mesUrl: string;
    devices: Record<string, string>;
    extra?: string;
    requestsPerMinute?: number;
    timeoutMs?: number;
    tokenAuth?: boolean;
    logLevel?: string;
    /** prodsmart.sharedBudget (the company budget on Redis). */
    sharedBudget?: { redis: string; key: string; requestsPerMinute: number };
  },
): TestConfig {
  const devicesDir = join(dir, 'devices');
  mkdirSync(devicesDir, { recursive: true });
  const dbPath = join(dir, 'data', 'gateway.db');
  const gatewayFile = join(dir, 'gateway.yaml');
  writeFileSync(
    gatewayFile,
    `prodsmart:
  baseUrl: ${opts.mesUrl}
  auth:
    apiKey: test-key
    apiSecret: \${TEST_API_SECRET:-test-secret}
    tokenAuth: ${opts.tokenAuth ?? false}
  requestsPerMinute: ${opts.requestsPerMinute ?? 100}
  timeoutMs: ${opts.timeoutMs ?? 2000}
${opts.sharedBudget ? `  sharedBudget: { redis: "${opts.sharedBudget.redis}", key: ${opts.sharedBudget.key}, requestsPerMinute: ${opts.sharedBudget.requestsPerMinute} }\n` : ''}storage:
  path: ${dbPath}
web:
  listen: 127.0.0.1:0
devices: ${devicesDir}
log:
  level: ${opts.logLevel ?? 'debug'}
${opts.extra ?? ''}`,
  );
  for (const [name, text] of Object.entries(opts.devices)) writeFileSync(join(devicesDir, `${name}.yaml`), text);
  return { dir, gatewayFile, dbPath };
}

/** A Modbus TCP device file on 127.0.0.1:`port` with one machine counting at holding `address`, polled every 100 ms. */
export const modbusDevice = (id: string, port: number, machine: string, address: number) => `device: ${id}
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port} }
pollIntervalMs: 100
machines:
  - code: ${machine}
    count: { area: holding, address: ${address} }
`;
