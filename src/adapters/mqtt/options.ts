/** mqtt.js client options for a device's connection, shared by the adapter, its probe and the simulator. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { DeviceOf } from '../../config/schema.js';

export type MqttDevice = DeviceOf<'mqtt'>;

/**
 * `role` tells apart the clients of one device: a broker drops the older of two clients
 * with the same id, so a probe next to a running gateway must not reuse the gateway's id.
 * Throws if the CA file cannot be read.
 */
export function clientOptions(device: MqttDevice, role: 'gateway' | 'probe' | 'sim', extra: IClientOptions = {}): IClientOptions {
  const c = device.connection;
  const suffix = role === 'gateway' ? '' : `-${role}`;
  const options: IClientOptions = {
    clientId: c.clientId !== undefined ? `${c.clientId}${suffix}` : `shopfloor-gateway-${device.device}${suffix}-${randomBytes(4).toString('hex')}`,
    // A fresh session each time: we resubscribe ourselves and read retained values again.
    clean: true,
    resubscribe: false,
    connectTimeout: 10_000,
    // Half-open TCP (pulled cable, no RST) is noticed after 1.5 × keepalive.
    keepalive: 30,
    ...extra,
  };
  if (c.username !== undefined) options.username = c.username;
  if (c.password !== undefined) options.password = c.password;
  if (c.ca !== undefined) {
    try {
      options.ca = readFileSync(c.ca);
    } catch (e) {
      throw new Error(`cannot read CA file ${c.ca}: ${(e as Error).message}`);
    }
  }
  return options;
}

/** The broker URL without credentials, for logs and errors. */
export function safeUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}
