/** Where a device's adapter keeps its own files (e.g. OPC UA certificates). */
import { dirname, join, resolve } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';

/** `<storage folder>/state/<device>`: the gateway, `probe` and `trust` all use this one folder. */
export function deviceStateDir(gateway: GatewayConfig, deviceId: string): string {
  return join(dirname(resolve(gateway.storage.path)), 'state', deviceId);
}
