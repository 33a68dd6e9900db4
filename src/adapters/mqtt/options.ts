/** mqtt.js client options for a device's connection, shared by the adapter, its probe and the simulator. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { IClientOptions } from 'mqtt';
import type { DeviceOf } from '../../config/schema.js';
import { GatewayError } from '../../core/errors.js';

/** The broker URL without credentials, for logs and errors (the config loader shows URLs the same way). */
export { safeUrl } from '../../config/words.js';

export type MqttDevice = DeviceOf<'mqtt'>;

/**
 * How long the broker keeps the gateway's session (its subscriptions and the QoS 1
 * messages queued for it) after the gateway went away: long enough to ride out a gateway
 * restart or a network outage of a shift or more, short enough that a removed or renamed
 * device does not leave a queue on the broker forever.
 */
const SESSION_EXPIRY_SECONDS = 24 * 60 * 60;

/**
 * The gateway's client id: the configured `clientId`, else one made from the device and
 * the host, stable across restarts so the broker can hand the gateway its session back.
 */
function gatewayClientId(device: Pick<MqttDevice, 'device' | 'connection'>): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-') || 'host';
  return device.connection.clientId ?? `shopfloor-gateway-${device.device}-${host}`;
}

/**
 * `connection.protocolVersion` for every role (the probe tests the protocol the gateway will
 * speak): 5 by default; 4 (MQTT 3.1.1) for brokers that lack 5, with a clean session, since
 * 3.1.1 cannot keep a resumed session from replaying retained values (no retain handling).
 *
 * `gateway`: a persistent session (clean start off, session expiry above), so the broker
 * keeps the subscriptions and queues QoS 1 messages while the gateway is disconnected or
 * restarting; a run/stop transition published meanwhile is delivered on return.
 *
 * `probe` and `sim`: clean, short-lived sessions under ids of their own. A broker drops the
 * older of two clients with the same id, so a probe or simulator next to a running gateway
 * must never use the gateway's id (it would take over, and then end, the gateway's session).
 * Without a configured id theirs are random; with one they get a `-probe`/`-sim` suffix.
 *
 * Throws if the CA file cannot be read.
 */
export function clientOptions(
  device: Pick<MqttDevice, 'device' | 'connection'>,
  role: 'gateway' | 'probe' | 'sim',
  extra: IClientOptions = {},
): IClientOptions {
  const c = device.connection;
  const persistent = role === 'gateway' && c.protocolVersion === 5;
  const clientId = persistent
    ? gatewayClientId(device)
    : c.clientId !== undefined
      ? `${c.clientId}-${role}`
      : `shopfloor-gateway-${device.device}-${role}-${randomBytes(4).toString('hex')}`;
  const options: IClientOptions = {
    clientId,
    protocolVersion: c.protocolVersion,
    clean: !persistent,
    ...(persistent ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS } } : {}),
    // The adapter subscribes on every connect itself (see adapter.ts).
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
      throw new GatewayError('SFG_MQTT_CA_UNREADABLE', `cannot read CA file ${c.ca}: ${(e as Error).message}`, { cause: e });
    }
  }
  return options;
}
