/**
 * Trusting a server by hand: ask the server for its endpoints over an unsecured
 * discovery channel (allowed before any trust exists), and put the certificate of the
 * endpoint the device will use into the device's trusted store.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { MessageSecurityMode, OPCUAClient, SecurityPolicy, type EndpointDescription } from 'node-opcua';
import type { Logger } from 'pino';
import type { DeviceOf } from '../../config/schema.js';
import { APPLICATION_NAME, certificateManager, connectError, OpcuaConnectError, securityPolicyOf, type OpcuaTarget } from './connection.js';
import { routeLibraryLogs } from './library-logs.js';
import { clientCertificateFile, describeCertificate, type CertificateInfo } from './pki.js';

export interface TrustOutcome {
  server: CertificateInfo;
  /** The store already trusted it: nothing changed. */
  wasTrusted: boolean;
  /** The gateway's own certificate, which a strict server must trust in turn. */
  client: { file: string; sha1: string; sha256: string };
}

export async function trustServer(device: DeviceOf<'opcua'>, stateDir: string, logger: Logger): Promise<TrustOutcome> {
  routeLibraryLogs(logger);
  const store = certificateManager(stateDir, false);
  try {
    const endpoint = pickEndpoint(device, await fetchEndpoints(device, stateDir, store));
    const chain = endpoint.serverCertificate;
    if (!chain || chain.length === 0)
      throw new OpcuaConnectError('SFG_OPCUA_NO_ENDPOINT', `OPC UA server ${device.connection.endpointUrl} sent no certificate`);
    const wasTrusted = (await store.isCertificateTrusted(chain)) === 'Good';
    if (!wasTrusted) await store.trustCertificate(chain);
    const own = new X509Certificate(readFileSync(clientCertificateFile(stateDir)));
    return {
      server: describeCertificate(chain),
      wasTrusted,
      client: { file: clientCertificateFile(stateDir), sha1: own.fingerprint, sha256: own.fingerprint256 },
    };
  } finally {
    await store.dispose();
  }
}

export async function fetchEndpoints(device: OpcuaTarget, stateDir: string, store: ReturnType<typeof certificateManager>): Promise<EndpointDescription[]> {
  const client = OPCUAClient.create({
    applicationName: APPLICATION_NAME,
    clientName: `shopfloor-gateway trust ${device.device}`,
    clientCertificateManager: store,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 1000, maxDelay: 1000 },
  });
  try {
    await client.connect(device.connection.endpointUrl);
    return await client.getEndpoints();
  } catch (err) {
    throw connectError(err, device, stateDir);
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/** The endpoint the adapter will use; any endpoint's certificate when the device runs unsecured. */
export function pickEndpoint(device: OpcuaTarget, endpoints: EndpointDescription[]): EndpointDescription {
  const mode = MessageSecurityMode[device.connection.securityMode];
  const policy = SecurityPolicy[securityPolicyOf(device)];
  const match = endpoints.find((e) => e.securityMode === mode && e.securityPolicyUri === policy);
  const fallback = mode === MessageSecurityMode.None ? endpoints.find((e) => e.serverCertificate?.length) : undefined;
  const chosen = match ?? fallback;
  if (!chosen) {
    const offered = endpoints.map((e) => `${MessageSecurityMode[e.securityMode]}/${e.securityPolicyUri?.split('#')[1]}`);
    throw new OpcuaConnectError(
      'SFG_OPCUA_NO_ENDPOINT',
      `OPC UA server ${device.connection.endpointUrl} offers no endpoint with securityMode ${device.connection.securityMode} ` +
        `and securityPolicy ${securityPolicyOf(device)}; it offers: ${[...new Set(offered)].join(', ')}`,
    );
  }
  return chosen;
}
