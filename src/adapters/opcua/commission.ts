/**
 * The OPC UA side of commissioning: a connection check in the steps a technician follows
 * (TCP, endpoints, the server certificate with its thumbprint, the session), and a
 * read-only session for browse.ts, opened per request and closed after it.
 */
import type { Clock } from '../../core/clock.js';
import type { CheckStep } from '../../core/commission.js';
import { errorCode } from '../../core/errors.js';
import { readOnlySession, type ReadSession } from './browse.js';
import { certificateManager, checkReachable, OpcuaConnectError, openConnection, socketError, type OpcuaTarget } from './connection.js';
import { describeCertificate, hasTrustedCertificate } from './pki.js';
import { fetchEndpoints, pickEndpoint } from './trust.js';

const fail = (step: string, err: unknown): CheckStep => ({
  step,
  ok: false,
  code: errorCode(err) ?? 'SFG_OPCUA_UNREACHABLE',
  detail: (err as Error).message,
});

/** tcp.connect, opcua.endpoints, opcua.certificate (thumbprint), opcua.session; stops at the first that fails. */
export async function checkOpcua(device: OpcuaTarget, stateDir: string, clock: Clock): Promise<CheckStep[]> {
  const url = device.connection.endpointUrl;
  const cancel = new AbortController().signal;
  const reach = await checkReachable(url, clock, cancel);
  if (!reach.reachable) return [{ step: 'tcp.connect', ok: false, code: reach.error, detail: `cannot reach ${url}: ${socketError(reach.error)}` }];
  const steps: CheckStep[] = [{ step: 'tcp.connect', ok: true, detail: `${url} accepts connections` }];

  const store = certificateManager(stateDir, false);
  try {
    let endpoint: ReturnType<typeof pickEndpoint>;
    try {
      endpoint = pickEndpoint(device, await fetchEndpoints(device, stateDir, store));
    } catch (err) {
      return [...steps, fail('opcua.endpoints', err)];
    }
    steps.push({ step: 'opcua.endpoints', ok: true, detail: `the server offers securityMode ${device.connection.securityMode}` });
    const chain = endpoint.serverCertificate;
    if (!chain || chain.length === 0) {
      steps.push({ step: 'opcua.certificate', ok: device.connection.securityMode === 'None', detail: 'the server sent no certificate' });
    } else {
      const cert = describeCertificate(chain);
      const trusted = (await store.isCertificateTrusted(chain)) === 'Good';
      const thumbprint = cert.sha1;
      const subject = `${cert.subject}, valid until ${cert.validTo.toISOString().slice(0, 10)}`;
      if (device.connection.securityMode === 'None') {
        steps.push({ step: 'opcua.certificate', ok: true, thumbprint, detail: `not used with securityMode None (${subject})` });
      } else if (trusted) {
        steps.push({ step: 'opcua.certificate', ok: true, thumbprint, detail: `trusted (${subject})` });
      } else if (device.connection.trustOnFirstUse && !hasTrustedCertificate(stateDir)) {
        steps.push({
          step: 'opcua.certificate',
          ok: true,
          thumbprint,
          detail: `will be trusted at the first connection (trustOnFirstUse): compare the thumbprint with the server's first (${subject})`,
        });
      } else {
        steps.push({
          step: 'opcua.certificate',
          ok: false,
          thumbprint,
          code: 'SFG_OPCUA_SERVER_UNTRUSTED',
          detail: `not trusted yet: compare the thumbprint with the one the server shows, then run: shopfloor-gateway trust ${device.device} (${subject})`,
        });
        return steps;
      }
    }
  } finally {
    await store.dispose();
  }

  try {
    const conn = await openConnection(device, stateDir, { quietMs: 10_000, clock }, cancel);
    await conn.close();
    steps.push({
      step: 'opcua.session',
      ok: true,
      detail: device.connection.username === undefined ? 'anonymous session open' : `session open as ${device.connection.username}`,
    });
  } catch (err) {
    steps.push(fail('opcua.session', err instanceof OpcuaConnectError ? err : new OpcuaConnectError('SFG_OPCUA_UNREACHABLE', String(err))));
  }
  return steps;
}

/** Runs `work` on a read-only session of its own, closed afterwards. */
export async function withReadSession<T>(device: OpcuaTarget, stateDir: string, clock: Clock, work: (s: ReadSession) => Promise<T>): Promise<T> {
  const conn = await openConnection(device, stateDir, { quietMs: 10_000, clock }, new AbortController().signal);
  try {
    return await work(readOnlySession(conn.session));
  } finally {
    await conn.close();
  }
}
