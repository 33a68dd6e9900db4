/**
 * A server that only offers SignAndEncrypt/Basic256Sha256 and wants a user: the
 * certificate trust flow (`trust` verb, trustOnFirstUse) and login errors. And one that
 * only offers Sign, for that mode.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpcuaAdapter } from '../../src/adapters/opcua/adapter.js';
import { describeCertificate, pkiDir } from '../../src/adapters/opcua/pki.js';
import { deviceStateDir } from '../../src/adapters/state-dir.js';
import { main as trust } from '../../src/cli/trust.js';
import { loadConfig } from '../../src/config/load.js';
import { startOpcuaSim, type OpcuaSim } from '../../src/sim/opcua-server.js';
import { opcuaDevice } from '../helpers/opcua.js';
import { freePort } from '../../src/sim/free-port.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { ownedTempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const dir = ownedTempDir('opcua-security-');
const password = 'pa55-w0rd-xyz';
const secured = { securityMode: 'SignAndEncrypt', username: 'operator', password };
let sim: OpcuaSim;

const simOptions = { securityModes: ['SignAndEncrypt' as const], users: [{ username: 'operator', password }] };

beforeAll(async () => {
  sim = await startOpcuaSim({ ...simOptions, port: await freePort(), pkiDir: `${dir.path}/server-pki` });
  // A real config on disk, as the technician's `trust` reads it.
  mkdirSync(`${dir.path}/devices`);
  writeFileSync(
    `${dir.path}/devices/line1.yaml`,
    [
      'device: line1-opcua',
      'protocol: opcua',
      'connection:',
      `  endpointUrl: ${sim.endpointUrl}`,
      '  securityMode: SignAndEncrypt',
      '  username: operator',
      `  password: ${password}`,
      'machines:',
      '  - code: LINE1',
      '    count: { nodeId: "ns=1;s=Line1.Counter" }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await sim?.close();
  dir.remove();
});

/** A gateway.yaml over the shared devices folder, with its own storage (and so its own PKI). */
function gatewayFile(name: string): string {
  const file = `${dir.path}/${name}.yaml`;
  writeFileSync(
    file,
    ['prodsmart:', '  auth: { apiKey: key, apiSecret: secret }', 'storage:', `  path: ${dir.path}/${name}/gateway.db`, `devices: ${dir.path}/devices`, ''].join(
      '\n',
    ),
  );
  return file;
}

async function runTrust(file: string): Promise<{ code: number; printed: string }> {
  const chunks: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => chunks.push(String(chunk)) > 0);
  try {
    const code = await trust(['line1-opcua', '--config', file]);
    return { code, printed: chunks.join('') };
  } finally {
    out.mockRestore();
  }
}

/** Runs an adapter until it reports a connection outcome. */
async function outcome(connection: Record<string, unknown>, stateDir: string, endpointUrl = sim.endpointUrl) {
  const r = new RecordingSink();
  const adapter = createOpcuaAdapter(opcuaDevice(endpointUrl, connection), adapterContext(r, { stateDir }));
  await adapter.start();
  try {
    await eventually(
      () => r.states,
      (states) => states.some((s) => s.state !== 'connecting'),
      20_000,
      'an outcome',
    );
    if (r.states.at(-1)?.state === 'connected')
      await eventually(
        () => r.allValues('count'),
        (counts) => counts.length > 0,
        20_000,
        'a count',
      );
    return { state: r.states.at(-1)!, counts: r.allValues('count') };
  } finally {
    await adapter.stop();
  }
}

describe('OPC UA security', () => {
  it('rejects an unknown server certificate and tells the technician to run trust; accepts it after trust', async () => {
    const file = gatewayFile('first');
    const stateDir = deviceStateDir(loadConfig(file).gateway, 'line1-opcua');
    const before = await outcome(secured, stateDir);
    expect(before.state.state).toBe('disconnected');
    expect(before.state.error).toContain('is not trusted yet');
    expect(before.state.error).toContain('shopfloor-gateway trust line1-opcua');
    expect(before.counts).toEqual([]);

    const { code, printed } = await runTrust(file);
    const cert = describeCertificate(sim.certificate());
    expect(code).toBe(0);
    expect(printed).toContain(cert.sha1);
    expect(printed).toContain(cert.sha256);
    expect(printed).toContain(cert.subject);
    expect(printed).toContain('now trusted');
    expect(readdirSync(`${pkiDir(stateDir)}/trusted/certs`)).toHaveLength(1);

    sim.set('Line1.Counter', 7);
    const after = await outcome(secured, stateDir);
    expect(after.state).toEqual({ state: 'connected', error: undefined });
    expect(after.counts).toEqual([7]);
  });

  it('trustOnFirstUse accepts the certificate it has never seen', async () => {
    sim.set('Line1.Counter', 8);
    // A fresh store: the server certificate is unknown to it.
    const r = await outcome({ ...secured, trustOnFirstUse: true }, `${dir.path}/state-tofu`);
    expect(r.state.state).toBe('connected');
    expect(r.counts).toEqual([8]);
  });

  it('connects with securityMode Sign, Basic256Sha256 and a user, and reads the counter', async () => {
    // A server of its own that offers only Sign: connecting at all proves that mode was used.
    const signOnly = await startOpcuaSim({ ...simOptions, securityModes: ['Sign'], port: await freePort(), pkiDir: `${dir.path}/server-pki-sign` });
    try {
      signOnly.set('Line1.Counter', 12);
      const connection = { securityMode: 'Sign', securityPolicy: 'Basic256Sha256', username: 'operator', password, trustOnFirstUse: true };
      const r = await outcome(connection, `${dir.path}/state-sign`, signOnly.endpointUrl);
      expect(r.state).toEqual({ state: 'connected', error: undefined });
      expect(r.counts).toEqual([12]);
    } finally {
      await signOnly.close();
    }
  });

  it('a wrong password is a clear error that does not show the password', async () => {
    const wrong = 'not-the-password';
    // The store of the test above, which trusts the server now: only the password is wrong.
    const r = await outcome({ ...secured, password: wrong }, `${dir.path}/state-tofu`);
    expect(r.state.state).toBe('disconnected');
    expect(r.state.error).toBe(
      `OPC UA server ${sim.endpointUrl} refused user "operator" (BadUserAccessDenied): check connection.username and connection.password`,
    );
    expect(r.state.error).not.toContain(wrong);
  });

  it('trustOnFirstUse does not take a different certificate once one is trusted', async () => {
    // The same server address with a new certificate: a replaced server, or someone else.
    const port = sim.port;
    await sim.close();
    sim = await startOpcuaSim({ ...simOptions, port, pkiDir: `${dir.path}/server-pki-2` });
    const r = await outcome({ ...secured, trustOnFirstUse: true }, `${dir.path}/state-tofu`);
    expect(r.state.state).toBe('disconnected');
    expect(r.state.error).toContain('is not trusted yet');
  });

  it('trust works before the gateway has ever run', async () => {
    const file = gatewayFile('fresh');
    const { code, printed } = await runTrust(file);
    expect(code).toBe(0);
    expect(printed).toContain(describeCertificate(sim.certificate()).sha256);
    sim.set('Line1.Counter', 9);
    const r = await outcome(secured, deviceStateDir(loadConfig(file).gateway, 'line1-opcua'));
    expect(r.counts).toEqual([9]);
  });

  it('a server that is off gives one clear line in every security mode, logged once by the gateway only', async () => {
    const closed = `opc.tcp://127.0.0.1:${await freePort()}`;
    for (const securityMode of ['None', 'Sign', 'SignAndEncrypt']) {
      const lines: string[] = [];
      const stream = new Writable({
        write: (chunk, _enc, done) => {
          lines.push(String(chunk));
          done();
        },
      });
      // As the gateway hands it over: already bound to the device.
      const logger = pino({ level: 'debug' }, stream).child({ device: 'line1-opcua' });
      const r = new RecordingSink();
      const adapter = createOpcuaAdapter(opcuaDevice(closed, { securityMode }), adapterContext(r, { stateDir: `${dir.path}/state-closed`, logger }));
      await adapter.start();
      try {
        await eventually(
          () => r.states,
          (states) => states.some((s) => s.state === 'disconnected'),
          30_000,
          `${securityMode}: disconnected`,
        );
      } finally {
        await adapter.stop();
      }
      expect(r.states.find((s) => s.state === 'disconnected')?.error, securityMode).toBe(
        `cannot connect to OPC UA server ${closed}: connection refused (ECONNREFUSED): the server is not running or listens on another port`,
      );
      const own = lines.map((l) => l.trim()).filter((l) => l.length > 0 && !l.includes('"lib":"node-opcua"'));
      expect(own.length, securityMode).toBeGreaterThan(0);
      for (const line of own) expect(line.match(/"device":/g), line).toHaveLength(1);
      // The first failure is the sink's to log (the gateway's 'device disconnected').
      expect(
        own.filter((l) => JSON.parse(l).level >= 40),
        securityMode,
      ).toEqual([]);
    }
  });
});
