/** What MQTT adapter tests share: a device builder, a topic prefix per test, a publisher. */
import { randomUUID } from 'node:crypto';
import { connect, type IClientOptions } from 'mqtt';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';

/** A validated mqtt device, defaults applied as the config loader would. */
export function mqttDevice(connection: Record<string, unknown>, machines: Record<string, unknown>[]): DeviceOf<'mqtt'> {
  return deviceSchema.parse({ device: 'mqtt-test', protocol: 'mqtt', connection, machines }) as DeviceOf<'mqtt'>;
}

/** A topic prefix of its own per test, so retained messages never leak between tests. */
export function topicPrefix(): string {
  return `test/${randomUUID()}`;
}

export interface Publisher {
  publish(topic: string, payload: string | Buffer, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function publisher(url: string, options: IClientOptions = {}): Promise<Publisher> {
  const client = connect(url, { reconnectPeriod: 200, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  // Later errors surface as rejected publishes; an unheard 'error' event would crash the worker.
  client.on('error', () => {});
  return {
    async publish(topic, payload, retain = false) {
      await client.publishAsync(topic, payload, { qos: 1, retain });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
