/**
 * A simulated PLC speaking OPC UA, for demos and tests: a real node-opcua server on
 * loopback whose variables `ns=1;s=<name>` are set from code. Values live here, not in
 * the server, so they survive stop()/start() like a PLC's retentive memory.
 */
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCode,
  StatusCodes,
  Variant,
  makeEUInformation,
  type UAObject,
  type UAVariable,
} from 'node-opcua';

export type SimNodeType = 'Boolean' | 'Int16' | 'UInt16' | 'Int32' | 'UInt32' | 'Int64' | 'UInt64' | 'Float' | 'Double' | 'String';
type SimValue = number | boolean | string;

export interface SimNode {
  /** Becomes the string node id `ns=1;s=<name>`. */
  name: string;
  type: SimNodeType;
  value: SimValue;
  /** Folder path under Objects, `/`-separated (default `Line1`). */
  folder?: string;
  /** Engineering units symbol (`°C`): the node becomes an AnalogItem with EngineeringUnits, as PLCs show measurements. */
  units?: string;
}

export const defaultOpcuaSimNodes: SimNode[] = [
  { name: 'Line1.Counter', type: 'UInt32', value: 0 },
  { name: 'Line1.Waste', type: 'UInt32', value: 0 },
  { name: 'Line1.Running', type: 'Boolean', value: true },
  { name: 'Line1.StopReason', type: 'UInt16', value: 0 },
  { name: 'Line1.Temperature', type: 'Double', value: 21.5, units: '°C' },
  { name: 'Line1.Batch', type: 'String', value: 'B-0001' },
];

export interface OpcuaSimOptions {
  port: number;
  /** Address to listen on and to advertise. */
  host?: string;
  /** The server's own certificate store (created on first start). */
  pkiDir: string;
  nodes?: SimNode[];
  /** When given, only these users may open a session (no anonymous). */
  users?: { username: string; password: string }[];
  securityModes?: ('None' | 'Sign' | 'SignAndEncrypt')[];
}

export interface OpcuaSim {
  readonly endpointUrl: string;
  readonly port: number;
  get(name: string): SimValue;
  /** Sets a value with status Good. */
  set(name: string, value: SimValue): void;
  increment(name: string, by?: number): number;
  /** Keeps the value but marks it bad, e.g. `BadWaitingForInitialData`. */
  setStatus(name: string, status: `Bad${string}` | `Uncertain${string}`): void;
  /** The server certificate (DER), for comparing fingerprints. */
  certificate(): Buffer;
  stop(): Promise<void>;
  /** Starts again on the same port after stop(). */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface NodeState extends SimNode {
  status: StatusCode;
}

export async function startOpcuaSim(opts: OpcuaSimOptions): Promise<OpcuaSim> {
  const host = opts.host ?? '127.0.0.1';
  const state = new Map<string, NodeState>((opts.nodes ?? defaultOpcuaSimNodes).map((n) => [n.name, { ...n, status: StatusCodes.Good }]));
  const variables = new Map<string, UAVariable>();
  let server: OPCUAServer | undefined;
  let certificate: Buffer | undefined;

  const node = (name: string) => {
    const n = state.get(name);
    if (!n) throw new Error(`no simulated OPC UA node ${name}`);
    return n;
  };
  const publish = (n: NodeState) => variables.get(n.name)?.setValueFromSource(variant(n), n.status);

  async function start(): Promise<void> {
    if (server) return;
    const modes = opts.securityModes ?? ['None', 'Sign', 'SignAndEncrypt'];
    const users = opts.users;
    const s = new OPCUAServer({
      port: opts.port,
      host,
      hostname: host,
      serverCertificateManager: store(opts.pkiDir),
      // Else node-opcua keeps X.509 user certificates under ~/.config.
      userCertificateManager: store(join(opts.pkiDir, 'users')),
      securityModes: modes.map((m) => MessageSecurityMode[m]),
      securityPolicies: [
        ...(modes.includes('None') ? [SecurityPolicy.None] : []),
        SecurityPolicy.Basic256Sha256,
        SecurityPolicy.Aes128_Sha256_RsaOaep,
        SecurityPolicy.Aes256_Sha256_RsaPss,
      ],
      allowAnonymous: users === undefined,
      userManager: users && { isValidUser: (u: string, p: string) => users.some((x) => x.username === u && x.password === p) },
      buildInfo: { productName: 'shopfloor-gateway OPC UA simulator' },
    });
    await s.initialize();
    const addressSpace = s.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const folders = new Map<string, UAObject>();
    const folderOf = (path: string): UAObject => {
      let at = folders.get(path);
      if (!at) {
        const cut = path.lastIndexOf('/');
        const parent = cut < 0 ? addressSpace.rootFolder.objects : folderOf(path.slice(0, cut));
        at = ns.addFolder(parent, { browseName: path.slice(cut + 1) });
        folders.set(path, at);
      }
      return at;
    };
    for (const n of state.values()) {
      const options = {
        componentOf: folderOf(n.folder ?? 'Line1'),
        nodeId: `s=${n.name}`,
        browseName: n.name,
        dataType: n.type,
        // Without it the server samples at 1000 ms at best; tests want fast updates.
        minimumSamplingInterval: 10,
      };
      const v =
        n.units === undefined
          ? ns.addVariable(options)
          : ns.addAnalogDataItem({ ...options, engineeringUnitsRange: { low: 0, high: 1000 }, engineeringUnits: makeEUInformation(n.units, n.units, n.units) });
      variables.set(n.name, v);
      publish(n);
    }
    await s.start();
    certificate = s.getCertificate();
    server = s;
  }

  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    variables.clear();
    await s?.shutdown(0);
  }

  await start();
  return {
    endpointUrl: `opc.tcp://${host}:${opts.port}`,
    port: opts.port,
    get: (name) => node(name).value,
    set(name, value) {
      const n = node(name);
      n.value = value;
      n.status = StatusCodes.Good;
      publish(n);
    },
    increment(name, by = 1) {
      const n = node(name);
      n.value = Number(n.value) + by;
      n.status = StatusCodes.Good;
      publish(n);
      return n.value;
    },
    setStatus(name, status) {
      const n = node(name);
      const code: unknown = StatusCodes[status as keyof typeof StatusCodes];
      if (!(code instanceof StatusCode)) throw new Error(`no status code ${status}`);
      n.status = code;
      publish(n);
    },
    certificate() {
      if (!certificate) throw new Error('the simulator has not started yet');
      return certificate;
    },
    stop,
    start,
    close: stop,
  };
}

function store(rootFolder: string): OPCUACertificateManager {
  return new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
}

function variant(n: SimNode): Variant {
  return new Variant({ dataType: DataType[n.type], value: n.value });
}
