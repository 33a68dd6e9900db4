/** What a technician is told when an OPC UA connection fails, and where certificates live. */
import { describe, expect, it } from 'vitest';
import { explainConnectError } from '../../src/adapters/opcua/connection.js';
import { firstCertificate } from '../../src/adapters/opcua/pki.js';
import { deviceStateDir } from '../../src/adapters/state-dir.js';
import { gatewaySchema } from '../../src/config/schema.js';
import { opcuaDevice } from '../helpers/opcua.js';

const url = 'opc.tcp://10.0.0.60:4840';
const explain = (message: string, connection: Record<string, unknown> = {}) =>
  explainConnectError(new Error(message), opcuaDevice(url, connection), '/var/lib/gw/state/line1-opcua');

describe('explainConnectError', () => {
  it('points at the trust verb for an untrusted server certificate', () => {
    expect(explain('server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)')).toBe(
      `the certificate of OPC UA server ${url} is not trusted yet. Check it and trust it with: shopfloor-gateway trust line1-opcua`,
    );
    expect(explain('server Certificate verification failed with err BadCertificateTimeInvalid (0x80140000)')).toBe(
      `the certificate of OPC UA server ${url} was rejected (BadCertificateTimeInvalid)`,
    );
  });

  it('names the user but never the password', () => {
    const msg = explain('ActivateSession failed BadUserAccessDenied (0x801f0000)', { username: 'op', password: 'hunter2' });
    expect(msg).toBe(`OPC UA server ${url} refused user "op" (BadUserAccessDenied): check connection.username and connection.password`);
    expect(explain('Cannot find ANONYMOUS user token policy in end point description')).toContain('does not accept anonymous sessions');
  });

  it('tells where the gateway certificate is when the server refuses it', () => {
    expect(explain('OpenSecureChannel failed BadSecurityChecksFailed', { securityMode: 'Sign' })).toBe(
      `OPC UA server ${url} rejected the gateway's certificate (BadSecurityChecksFailed): ` +
        'trust /var/lib/gw/state/line1-opcua/pki/own/certs/client_certificate.pem in the server\'s certificate settings',
    );
  });

  it('keeps only the socket error of node-opcua\'s advice', () => {
    const nodeOpcua = `The connection cannot be established with server ${url} .\nPlease check that the server is up and running or your network configuration.\nErr = (connect ECONNREFUSED 10.0.0.60:4840)`;
    expect(explain(nodeOpcua)).toBe(`cannot connect to OPC UA server ${url}: connect ECONNREFUSED 10.0.0.60:4840`);
  });
});

describe('pki', () => {
  it('keeps device state beside the database', () => {
    const gateway = gatewaySchema.parse({ prodsmart: { auth: { accessToken: 't' } }, storage: { path: '/var/lib/gw/gateway.db' } });
    expect(deviceStateDir(gateway, 'press-1')).toBe('/var/lib/gw/state/press-1');
  });

  it('cuts the first certificate out of a DER chain (short and long length forms)', () => {
    const short = Buffer.from([0x30, 0x02, 0xaa, 0xbb]);
    const long = Buffer.concat([Buffer.from([0x30, 0x81, 0x80]), Buffer.alloc(0x80, 1)]);
    expect(firstCertificate(Buffer.concat([short, long]))).toEqual(short);
    expect(firstCertificate(Buffer.concat([long, short]))).toEqual(long);
  });
});
