/**
 * One OPC UA connection: certificate store, client, session. node-opcua's own
 * reconnection is switched off (maxRetry 0) so that a break always surfaces here as
 * `lost`, and the adapter rebuilds everything from scratch: after a server restart a
 * fresh session and subscription are the only thing that is sure to work.
 */
import {
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
  type ClientSession,
  type UserIdentityInfo,
} from 'node-opcua';
import { sleep, type Clock } from '../../clock.js';
import type { DeviceOf } from '../../config/schema.js';
import { clientCertificateFile, hasTrustedCertificate, pkiDir } from './pki.js';

type Device = DeviceOf<'opcua'>;

export interface Connection {
  client: OPCUAClient;
  session: ClientSession;
  /** Aborted, with the reason as a string, when the connection breaks. */
  lost: AbortSignal;
  markLost(reason: string): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Longest gap between messages the connection must tolerate (poll interval, keep-alive). */
  quietMs: number;
  clock: Clock;
}

/** Also names the client certificate's application URI, so `trust` and the adapter share one. */
export const APPLICATION_NAME = 'shopfloor-gateway';

/** The device's certificate store; the client creates its own certificate in it on first connect. */
export function certificateManager(stateDir: string, acceptUnknown: boolean): OPCUACertificateManager {
  return new OPCUACertificateManager({
    rootFolder: pkiDir(stateDir),
    automaticallyAcceptUnknownCertificate: acceptUnknown,
    // Made anew for every connection attempt, so a `trust` done meanwhile is seen without watchers.
    disableFileWatchers: true,
  });
}

/** `cancel` aborts a connect in progress (a SYN to a dead host waits for the TCP timeout). */
export async function openConnection(device: Device, stateDir: string, opts: ConnectOptions, cancel: AbortSignal): Promise<Connection> {
  const c = device.connection;
  const client = OPCUAClient.create({
    applicationName: APPLICATION_NAME,
    clientName: `shopfloor-gateway ${device.device}`,
    // Trust on *first* use: once a server certificate is trusted, a different one is not.
    clientCertificateManager: certificateManager(stateDir, c.trustOnFirstUse && !hasTrustedCertificate(stateDir)),
    securityMode: MessageSecurityMode[c.securityMode],
    securityPolicy: SecurityPolicy[securityPolicyOf(device)],
    // PLCs often advertise a host name other than the address we were given.
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 1000, maxDelay: 1000 },
    // node-opcua drops a socket idle for transportTimeout/2: keep that above any quiet gap of ours.
    transportTimeout: Math.max(60_000, 4 * opts.quietMs),
  });
  const lost = new AbortController();
  const markLost = (reason: string) => {
    if (!lost.signal.aborted) lost.abort(reason);
  };
  client.on('close', (err) => markLost(err ? `connection closed: ${err.message}` : 'connection closed'));
  client.on('connection_lost', () => markLost('connection lost'));
  const onCancel = () => void client.disconnect().catch(() => undefined);
  cancel.addEventListener('abort', onCancel, { once: true });

  try {
    if (cancel.aborted) throw new Error('stopped');
    await client.connect(c.endpointUrl);
    const session = await client.createSession(identity(device));
    session.on('session_closed', () => markLost('session closed by the server'));
    return { client, session, lost: lost.signal, markLost, close: () => close(client, session, lost.signal, opts.clock) };
  } catch (err) {
    markLost('connect failed');
    await client.disconnect().catch(() => undefined);
    throw new Error(explainConnectError(err, device, stateDir));
  } finally {
    cancel.removeEventListener('abort', onCancel);
  }
}

async function close(client: OPCUAClient, session: ClientSession, lost: AbortSignal, clock: Clock): Promise<void> {
  // Talking to a dead peer only waits for timeouts: skip the session, and give the
  // socket a moment to close before leaving it to finish in the background.
  if (!lost.aborted) await session.close(true).catch(() => undefined);
  const gone = new AbortController();
  await Promise.race([client.disconnect().catch(() => undefined), sleep(clock, 2000, gone.signal)]);
  gone.abort();
}

export function securityPolicyOf(device: Device): keyof typeof SecurityPolicy {
  const c = device.connection;
  return c.securityPolicy ?? (c.securityMode === 'None' ? 'None' : 'Basic256Sha256');
}

function identity(device: Device): UserIdentityInfo {
  const { username, password } = device.connection;
  if (username === undefined) return { type: UserTokenType.Anonymous };
  return { type: UserTokenType.UserName, userName: username, password: password ?? '' };
}

/** Turns node-opcua's errors into what a technician should do about them. */
export function explainConnectError(err: unknown, device: Device, stateDir: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const c = device.connection;
  const status = /Bad[A-Za-z]+/.exec(message)?.[0];
  if (/server Certificate verification failed/i.test(message)) {
    if (status === 'BadCertificateUntrusted') {
      return (
        `the certificate of OPC UA server ${c.endpointUrl} is not trusted yet. ` +
        `Check it and trust it with: shopfloor-gateway trust ${device.device}`
      );
    }
    return `the certificate of OPC UA server ${c.endpointUrl} was rejected (${status ?? message})`;
  }
  if (status && /^Bad(UserAccessDenied|IdentityToken)/.test(status)) {
    return c.username === undefined
      ? `OPC UA server ${c.endpointUrl} does not accept anonymous sessions (${status}): set connection.username and connection.password`
      : `OPC UA server ${c.endpointUrl} refused user "${c.username}" (${status}): check connection.username and connection.password`;
  }
  if (/Cannot find (ANONYMOUS|USERNAME) user token policy/i.test(message)) {
    return c.username === undefined
      ? `OPC UA server ${c.endpointUrl} does not accept anonymous sessions on this endpoint: set connection.username and connection.password`
      : `OPC UA server ${c.endpointUrl} does not accept username and password on this endpoint (securityMode ${c.securityMode})`;
  }
  if (status && /^Bad(SecurityChecksFailed|Certificate)/.test(status)) {
    return (
      `OPC UA server ${c.endpointUrl} rejected the gateway's certificate (${status}): ` +
      `trust ${clientCertificateFile(stateDir)} in the server's certificate settings`
    );
  }
  if (/cannot find endpoint/i.test(message)) {
    return `OPC UA server ${c.endpointUrl} offers no endpoint with securityMode ${c.securityMode} and securityPolicy ${securityPolicyOf(device)}`;
  }
  // node-opcua wraps socket errors in three lines of advice; the socket error is what matters.
  const cause = /Err = \((.*)\)\s*$/s.exec(message)?.[1] ?? message;
  return `cannot connect to OPC UA server ${c.endpointUrl}: ${cause}`;
}
