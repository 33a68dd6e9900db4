/** What a technician is told when an OPC UA connection fails, and where certificates live. */
import { describe, expect, it } from 'vitest';
import { connectError, type Reachability } from '../../src/adapters/opcua/connection.js';
import { firstCertificate } from '../../src/adapters/opcua/pki.js';
import { deviceStateDir } from '../../src/adapters/state-dir.js';
import { gatewaySchema } from '../../src/config/schema.js';
import { opcuaDevice } from '../helpers/opcua.js';

const url = 'opc.tcp://10.0.0.60:4840';
const stateDir = '/var/lib/gw/state/line1-opcua';
const failure = (message: string, connection: Record<string, unknown> = {}) => connectError(new Error(message), opcuaDevice(url, connection), stateDir);
const explain = (message: string, connection: Record<string, unknown> = {}) => failure(message, connection).message;

describe('connectError', () => {
  it("gives each kind of failure its code, with node-opcua's error as the cause", () => {
    const cases: [string, string][] = [
      ['server Certificate verification failed with err BadCertificateUntrusted (0x801a0000)', 'SFG_OPCUA_SERVER_UNTRUSTED'],
      ['server Certificate verification failed with err BadCertificateTimeInvalid (0x80140000)', 'SFG_OPCUA_SERVER_CERT_REJECTED'],
      ['ActivateSession failed BadUserAccessDenied (0x801f0000)', 'SFG_OPCUA_USER_REFUSED'],
      ['Cannot find ANONYMOUS user token policy in end point description', 'SFG_OPCUA_USER_REFUSED'],
      ['OpenSecureChannel failed BadSecurityChecksFailed', 'SFG_OPCUA_CLIENT_REJECTED'],
      ['cannot find endpoint for securityMode=2 policy = http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256', 'SFG_OPCUA_NO_ENDPOINT'],
      ['Err = (connect ECONNREFUSED 10.0.0.60:4840)', 'SFG_OPCUA_UNREACHABLE'],
    ];
    for (const [message, code] of cases) {
      const err = failure(message);
      expect([message, err.code]).toEqual([message, code]);
      expect((err.cause as Error).message).toBe(message);
    }
  });

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
        "trust /var/lib/gw/state/line1-opcua/pki/own/certs/client_certificate.pem in the server's certificate settings",
    );
  });

  it("keeps only the socket error of node-opcua's advice, in words and on one line", () => {
    const nodeOpcua = `The connection cannot be established with server ${url} .\nPlease check that the server is up and running or your network configuration.\nErr = (connect ECONNREFUSED 10.0.0.60:4840)`;
    const refused = `cannot connect to OPC UA server ${url}: connection refused (ECONNREFUSED): the server is not running or listens on another port`;
    expect(explain(nodeOpcua)).toBe(refused);
    expect(explain('The connection may have been rejected by server,\n Err = (getaddrinfo ENOTFOUND plc.invalid)')).toBe(
      `cannot connect to OPC UA server ${url}: host name not found (ENOTFOUND)`,
    );
    expect(
      explain('The connection may have been rejected by server,\n Err = (Connection aborted - ended by server: socket has been disconnected by third party )'),
    ).toBe(`cannot connect to OPC UA server ${url}: Connection aborted - ended by server: socket has been disconnected by third party`);
  });

  describe('a secured mode (endpoint discovery hides the socket error)', () => {
    // node-opcua 2.x, securityMode Sign or SignAndEncrypt, nothing listening on the port.
    const findEndpoint = `Fail to connect to server at ${url} to collect server's certificate (in findEndpoint) \n (err =premature disconnection 4)`;
    const secured = (reach?: Reachability) =>
      connectError(new Error(findEndpoint), opcuaDevice(url, { securityMode: 'SignAndEncrypt' }), stateDir, reach).message;

    it('says the same as securityMode None, from what a plain TCP connect found', () => {
      expect(secured({ reachable: false, error: 'ECONNREFUSED' })).toBe(explain('Err = (connect ECONNREFUSED 10.0.0.60:4840)'));
      expect(secured({ reachable: false, error: 'ETIMEDOUT' })).toBe(
        `cannot connect to OPC UA server ${url}: no answer (ETIMEDOUT): the host is down or a firewall drops the connection`,
      );
      expect(secured({ reachable: false, error: 'EHOSTUNREACH' })).toBe(`cannot connect to OPC UA server ${url}: host not reachable (EHOSTUNREACH)`);
    });

    it('tells a port that answers but is not OPC UA apart, and is one line without the check', () => {
      expect(secured({ reachable: true })).toBe(
        `cannot connect to OPC UA server ${url}: the port accepts connections but the connection closed before the server answered: is this an OPC UA server, and the right port?`,
      );
      expect(secured()).toBe(`cannot connect to OPC UA server ${url}: the connection closed before the server answered: server not running or not reachable`);
      for (const reach of [undefined, { reachable: true } as const, { reachable: false, error: 'ECONNREFUSED' } as const]) {
        expect(secured(reach)).not.toMatch(/\n|findEndpoint|premature/);
      }
    });
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
