/**
 * Commissioning (docs/commissioning.md): what the `/api/commission/*` routes of src/web call.
 * The web layer may import only core and config, so the parts that talk to devices
 * (CommissionTools) are an interface here, which the composition root (src/gateway)
 * implements and passes in.
 */

/** One step of a connection check, in the order it was tried; the first `ok: false` is where it failed. */
export interface CheckStep {
  /** Stable id: 'tcp.connect', 'modbus.first-read', 'opcua.endpoints', 'opcua.certificate', 'opcua.session', 'mqtt.connect', 'mqtt.login', 'serial.open'. */
  step: string;
  ok: boolean;
  detail?: string;
  /** The server certificate's SHA-1 thumbprint (OPC UA), to compare with the server's display before trusting it. */
  thumbprint?: string;
}

export type JobKind = 'modbus.units' | 'modbus.registers' | 'mqtt.listen';

export type JobState = 'running' | 'done' | 'aborted' | 'failed';

/** Long work (a scan, a listen) that the page follows by polling `GET /api/commission/jobs/:id`. */
export interface Job {
  id: string;
  kind: JobKind;
  state: JobState;
  progress: { done: number; total: number };
  /** Expected time left. */
  etaMs?: number;
  results: unknown[];
  error?: { code: string; message: string };
  abort(): void;
}

export type ModbusArea = 'holding' | 'input' | 'coil' | 'discrete';

export interface ModbusReadQuery {
  unitId: number;
  area: ModbusArea;
  address: number;
  count: number;
}

/** Registers (or bits) read once, with every decoding; the shape is h-comm-discover's. */
export type ModbusReadResult = Record<string, unknown>;

/** One node of an OPC UA browse; fields as in the contract (nodeClass, browseName, nodeId, dataType, accessLevel, units, hasChildren). */
export interface OpcuaNode {
  nodeId: string;
  browseName: string;
  nodeClass: string;
  dataType?: string;
  accessLevel?: string;
  units?: string;
  hasChildren: boolean;
}

export type OpcuaNodeDetail = OpcuaNode & Record<string, unknown>;

/**
 * Device work for commissioning, read only (no Modbus write function code, no OPC UA
 * write). `device` is a device config object as in the YAML; the route validates it first.
 */
export interface CommissionTools {
  serialPorts(): Promise<{ path: string; manufacturer?: string }[]>;
  check(device: unknown): Promise<CheckStep[]>;
  startJob(kind: JobKind, params: unknown): Job;
  modbusRead(device: unknown, q: ModbusReadQuery): Promise<ModbusReadResult>;
  /** Children of nodeId (default: the Objects folder). */
  opcuaBrowse(device: unknown, nodeId?: string): Promise<OpcuaNode[]>;
  opcuaRead(device: unknown, nodeId: string): Promise<OpcuaNodeDetail>;
  opcuaSearch(device: unknown, text: string, limits: { maxNodes: number }): Promise<OpcuaNode[]>;
  /** Live values of a saved device, as `probe` prints them. */
  probe(deviceName: string): Promise<unknown>;
}
