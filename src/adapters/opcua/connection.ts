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
import { connect as tcpConnect } from 'node:net';
import { sleep, type Clock } from '../../core/clock.js';
import type { DeviceOf } from '../../config/schema.js';
import { GatewayError } from '../../core/errors.js';
import { clientCertificateFile, hasTrustedCertificate, pkiDir } from './pki.js';

/** What a connection needs of a device: its id and its connection (commissioning has no machines yet). */
export type OpcuaTarget = Pick<DeviceOf<'opcua'>, 'device' | 'connection'>;
type Device = OpcuaTarget;

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
    // Secured modes fail inside node-opcua's endpoint discovery, which drops the socket
    // error; a plain TCP connect to the same host and port finds out what it was.
    const reach = hidesSocketError(err) && !cancel.aborted ? await checkReachable(c.endpointUrl, opts.clock, cancel) : undefined;
    throw connectError(err, device, stateDir, reach);
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

/** Why an OPC UA connection (or the `trust` verb's discovery) failed, as code acts on it. */
export type OpcuaConnectCode =
  /** The server's certificate is not in the device's trusted store yet: `trust` fixes it. */
  | 'SFG_OPCUA_SERVER_UNTRUSTED'
  /** The server's certificate was refused for another reason (expired, wrong host, ...). */
  | 'SFG_OPCUA_SERVER_CERT_REJECTED'
  /** The server refused the user (or anonymous sessions). */
  | 'SFG_OPCUA_USER_REFUSED'
  /** The server refused the gateway's own certificate. */
  | 'SFG_OPCUA_CLIENT_REJECTED'
  /** No endpoint with the configured security, or none with a certificate. */
  | 'SFG_OPCUA_NO_ENDPOINT'
  /** No OPC UA conversation at all: refused, not found, no answer, closed early. */
  | 'SFG_OPCUA_UNREACHABLE';

/** Carries node-opcua's error as `cause`; the message is one line saying what to do. */
export class OpcuaConnectError extends GatewayError<OpcuaConnectCode> {}

/**
 * Turns node-opcua's errors into one line saying what a technician should do about them.
 * node-opcua's errors carry no codes of their own: its wording is matched here, and only here.
 * `reach` is what a plain TCP connect found, for errors that do not say (see checkReachable).
 */
export function connectError(err: unknown, device: Device, stateDir: string, reach?: Reachability): OpcuaConnectError {
  const [code, text] = explain(err, device, stateDir, reach);
  return new OpcuaConnectError(code, oneLine(text), { cause: err });
}

function explain(err: unknown, device: Device, stateDir: string, reach: Reachability | undefined): [OpcuaConnectCode, string] {
  const message = err instanceof Error ? err.message : String(err);
  const c = device.connection;
  const status = /Bad[A-Za-z]+/.exec(message)?.[0];
  if (/server Certificate verification failed/i.test(message)) {
    if (status === 'BadCertificateUntrusted') {
      return [
        'SFG_OPCUA_SERVER_UNTRUSTED',
        `the certificate of OPC UA server ${c.endpointUrl} is not trusted yet. Check it and trust it with: shopfloor-gateway trust ${device.device}`,
      ];
    }
    return ['SFG_OPCUA_SERVER_CERT_REJECTED', `the certificate of OPC UA server ${c.endpointUrl} was rejected (${status ?? message})`];
  }
  if (status && /^Bad(UserAccessDenied|IdentityToken)/.test(status)) {
    return [
      'SFG_OPCUA_USER_REFUSED',
      c.username === undefined
        ? `OPC UA server ${c.endpointUrl} does not accept anonymous sessions (${status}): set connection.username and connection.password`
        : `OPC UA server ${c.endpointUrl} refused user "${c.username}" (${status}): check connection.username and connection.password`,
    ];
  }
  if (/Cannot find (ANONYMOUS|USERNAME) user token policy/i.test(message)) {
    return [
      'SFG_OPCUA_USER_REFUSED',
      c.username === undefined
        ? `OPC UA server ${c.endpointUrl} does not accept anonymous sessions on this endpoint: set connection.username and connection.password`
        : `OPC UA server ${c.endpointUrl} does not accept username and password on this endpoint (securityMode ${c.securityMode})`,
    ];
  }
  if (status && /^Bad(SecurityChecksFailed|Certificate)/.test(status)) {
    return [
      'SFG_OPCUA_CLIENT_REJECTED',
      `OPC UA server ${c.endpointUrl} rejected the gateway's certificate (${status}): trust ${clientCertificateFile(stateDir)} in the server's certificate settings`,
    ];
  }
  if (/cannot find endpoint/i.test(message)) {
    return [
      'SFG_OPCUA_NO_ENDPOINT',
      `OPC UA server ${c.endpointUrl} offers no endpoint with securityMode ${c.securityMode} and securityPolicy ${securityPolicyOf(device)}`,
    ];
  }
  return ['SFG_OPCUA_UNREACHABLE', `cannot connect to OPC UA server ${c.endpointUrl}: ${unreachable(message, reach)}`];
}

/** What a plain TCP connect to the endpoint's host and port found. */
export type Reachability = { reachable: true } | { reachable: false; error: string };

const REACH_TIMEOUT_MS = 5000;

/**
 * node-opcua's endpoint discovery (used by Sign and SignAndEncrypt) reports every failure
 * to connect as "premature disconnection", without the socket error.
 */
function hidesSocketError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /premature disconnection|to collect server's certificate/i.test(message);
}

/** Opens and closes one TCP connection to the endpoint's host and port. */
export async function checkReachable(endpointUrl: string, clock: Clock, cancel: AbortSignal, timeoutMs = REACH_TIMEOUT_MS): Promise<Reachability> {
  let host: string;
  let port: number;
  try {
    const url = new URL(endpointUrl);
    host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = Number(url.port || 4840);
  } catch {
    return { reachable: false, error: `invalid endpoint URL ${endpointUrl}` };
  }
  const done = new AbortController();
  const socket = tcpConnect({ host, port });
  try {
    return await Promise.race([
      new Promise<Reachability>((resolve) => {
        socket.once('connect', () => resolve({ reachable: true }));
        socket.once('error', (e: NodeJS.ErrnoException) => resolve({ reachable: false, error: e.code ?? e.message }));
      }),
      sleep(clock, timeoutMs, AbortSignal.any([done.signal, cancel])).then(
        (): Reachability => ({ reachable: false, error: cancel.aborted ? 'stopped' : 'ETIMEDOUT' }),
      ),
    ]);
  } finally {
    done.abort();
    socket.destroy();
  }
}

/** Socket error codes in words, and what to check. */
const SOCKET_ERRORS: Record<string, [string, string?]> = {
  ECONNREFUSED: ['connection refused', 'the server is not running or listens on another port'],
  ENOTFOUND: ['host name not found'],
  EAI_AGAIN: ['host name not found', 'DNS did not answer'],
  EHOSTUNREACH: ['host not reachable'],
  ENETUNREACH: ['network not reachable'],
  EHOSTDOWN: ['host is down'],
  ETIMEDOUT: ['no answer', 'the host is down or a firewall drops the connection'],
  ECONNRESET: ['connection reset by the server'],
};

const SOCKET_ERROR_CODE = new RegExp(`\\b(${Object.keys(SOCKET_ERRORS).join('|')})\\b`);

/** One line for a connection that did not come up: the socket error in words, never node-opcua's advice. */
function unreachable(message: string, reach: Reachability | undefined): string {
  if (hidesSocketError(message)) {
    if (reach === undefined) return 'the connection closed before the server answered: server not running or not reachable';
    if (reach.reachable) {
      return 'the port accepts connections but the connection closed before the server answered: is this an OPC UA server, and the right port?';
    }
    return socketError(reach.error);
  }
  // node-opcua wraps socket errors in lines of advice ending in `Err = (…)`.
  const inner = /\berr\s*=\s*\(?([\s\S]*?)\)?\s*$/i.exec(message)?.[1] ?? message;
  return socketError(inner);
}

/** A socket error code or message in words, with what to check. */
export function socketError(text: string): string {
  const code = SOCKET_ERROR_CODE.exec(text)?.[1];
  if (code === undefined) return oneLine(text);
  const [what, hint] = SOCKET_ERRORS[code];
  return hint === undefined ? `${what} (${code})` : `${what} (${code}): ${hint}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
