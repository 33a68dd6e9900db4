/**
 * Commissioning's OPC UA tools against a real node-opcua server on loopback: a lazy browse
 * from the Objects folder down to the counter, its attributes, a bounded search, the
 * connection check with the server certificate's thumbprint, and a session that refuses
 * write and call.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnlySession } from '../../src/adapters/opcua/browse.js';
import { openConnection } from '../../src/adapters/opcua/connection.js';
import { firstCertificate } from '../../src/adapters/opcua/pki.js';
import { systemClock } from '../../src/core/clock.js';
import { deviceConnectionSchema, type ConnectionOf } from '../../src/config/schema.js';
import type { OpcuaNode } from '../../src/core/commission.js';
import { defaultOpcuaSimNodes, startOpcuaSim, type OpcuaSim } from '../../src/sim/opcua-server.js';
import { freePort } from '../../src/sim/free-port.js';
import { commissionTools } from '../helpers/commission-tools.js';
import { ownedTempDir } from '../helpers/tmp.js';

const dir = ownedTempDir('commission-opcua-');
let sim: OpcuaSim;

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: `${dir.path}/server-pki`,
    nodes: [...defaultOpcuaSimNodes, { name: 'Press.Strokes', type: 'UInt32', value: 12, folder: 'Plant/Hall2/Press' }],
  });
});

afterAll(async () => {
  await sim?.close();
  dir.remove();
});

const device = (connection: Record<string, unknown> = {}) => ({
  device: 'line1',
  protocol: 'opcua',
  connection: { endpointUrl: sim.endpointUrl, ...connection },
});
const names = (nodes: OpcuaNode[]) => nodes.map((n) => n.browseName);

describe('OPC UA browse', () => {
  it('browses on demand from the Objects folder down to the counter, with what a mapping needs', async () => {
    const { tools } = commissionTools(`${dir.path}/state`);
    const root = await tools.opcuaBrowse(device());
    expect(names(root)).toEqual(expect.arrayContaining(['1:Line1', '1:Plant', 'Server']));
    const line = root.find((n) => n.browseName === '1:Line1')!;
    expect(line).toMatchObject({ nodeClass: 'Object', hasChildren: true });

    const children = await tools.opcuaBrowse(device(), line.nodeId);
    const counter = children.find((n) => n.browseName === '1:Line1.Counter');
    expect(counter).toEqual({
      nodeId: 'ns=1;s=Line1.Counter',
      browseName: '1:Line1.Counter',
      nodeClass: 'Variable',
      dataType: 'UInt32',
      accessLevel: 'read, write',
      hasChildren: false,
    });
    // An analog item shows its units; its EngineeringUnits property is not a child to browse into.
    expect(children.find((n) => n.browseName === '1:Line1.Temperature')).toMatchObject({ dataType: 'Double', units: '°C', hasChildren: false });

    sim.set('Line1.Counter', 4711);
    const detail = await tools.opcuaRead(device(), 'ns=1;s=Line1.Counter');
    expect(detail).toMatchObject({
      nodeId: 'ns=1;s=Line1.Counter',
      nodeClass: 'Variable',
      dataType: 'UInt32',
      value: 4711,
      status: 'Good',
      source: { nodeId: 'ns=1;s=Line1.Counter' },
    });
    await expect(tools.opcuaRead(device(), 'ns=1;s=No.Such.Node')).rejects.toMatchObject({ code: 'SFG_OPCUA_NO_SUCH_NODE' });
    await expect(tools.opcuaRead(device(), 'not a node id')).rejects.toMatchObject({ code: 'SFG_OPCUA_BAD_NODE_ID' });
  });

  it('searches by browse name breadth-first, bounded by the nodes it may visit', async () => {
    const { tools } = commissionTools(`${dir.path}/state`);
    const found = await tools.opcuaSearch(device(), 'strokes', { maxNodes: 500 });
    expect(found.map((n) => n.nodeId)).toEqual(['ns=1;s=Press.Strokes']);
    // Three folders deep: a search that may visit only a few nodes does not get there.
    expect(await tools.opcuaSearch(device(), 'strokes', { maxNodes: 3 })).toEqual([]);
    expect(names(await tools.opcuaSearch(device(), 'line1.c', { maxNodes: 500 }))).toEqual(['1:Line1.Counter']);
  });

  it('refuses write and call on the commissioning session before anything is sent', async () => {
    mkdirSync(`${dir.path}/state/raw`, { recursive: true });
    const conn = await openConnection(
      deviceConnectionSchema.parse(device()) as ConnectionOf<'opcua'>,
      `${dir.path}/state/raw`,
      { quietMs: 10_000, clock: systemClock },
      new AbortController().signal,
    );
    try {
      sim.set('Line1.Counter', 5);
      const s = readOnlySession(conn.session) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const write = { nodeId: 'ns=1;s=Line1.Counter', attributeId: 13, value: { value: { dataType: 7, value: 99 } } };
      expect(() => s.write(write)).toThrow(expect.objectContaining({ code: 'SFG_OPCUA_WRITE_REFUSED' }));
      expect(() => s.call({ objectId: 'i=2253', methodId: 'i=11492', inputArguments: [] })).toThrow(
        expect.objectContaining({ code: 'SFG_OPCUA_WRITE_REFUSED' }),
      );
      expect(() => s.writeSingleNode('ns=1;s=Line1.Counter', { dataType: 7, value: 99 })).toThrow(/only browses and reads/);
      expect(sim.get('Line1.Counter')).toBe(5);
      expect(((await s.read({ nodeId: 'ns=1;s=Line1.Counter', attributeId: 13 })) as { value: { value: number } }).value.value).toBe(5);
    } finally {
      await conn.close();
    }
  });
});

describe('OPC UA connection check', () => {
  it('goes through TCP, endpoints, the certificate with its thumbprint, and the session', async () => {
    const { tools } = commissionTools(`${dir.path}/state`);
    const thumbprint = new X509Certificate(firstCertificate(sim.certificate())).fingerprint;
    const steps = await tools.check(device());
    expect(steps.map((s) => [s.step, s.ok])).toEqual([
      ['tcp.connect', true],
      ['opcua.endpoints', true],
      ['opcua.certificate', true],
      ['opcua.session', true],
    ]);
    expect(steps[2].thumbprint).toBe(thumbprint);

    // Signed, with a server certificate nobody trusted yet: it stops there and says what to do.
    const signed = await tools.check(device({ securityMode: 'Sign' }));
    expect(signed.at(-1)).toEqual({
      step: 'opcua.certificate',
      ok: false,
      thumbprint,
      code: 'SFG_OPCUA_SERVER_UNTRUSTED',
      detail: expect.stringMatching(/compare the thumbprint.*shopfloor-gateway trust line1/),
    });

    const closed = await tools.check({ device: 'x', protocol: 'opcua', connection: { endpointUrl: `opc.tcp://127.0.0.1:${await freePort()}` } });
    expect(closed).toEqual([{ step: 'tcp.connect', ok: false, code: 'ECONNREFUSED', detail: expect.stringMatching(/connection refused/) }]);
  });
});
