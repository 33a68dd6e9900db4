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
  /** Stable code of what was found (`ECONNREFUSED`, `SFG_MODBUS_NO_ANSWER`, `SFG_OPCUA_SERVER_UNTRUSTED`...); also on some ok steps (`SFG_MODBUS_EXCEPTION`). */
  code?: string;
  detail?: string;
  /** The server certificate's SHA-1 thumbprint (OPC UA), to compare with the server's display before trusting it. */
  thumbprint?: string;
}

export type JobKind = 'modbus.units' | 'modbus.registers' | 'mqtt.listen';

type JobState = 'running' | 'done' | 'aborted' | 'failed';

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

type ModbusArea = 'holding' | 'input' | 'coil' | 'discrete';

export interface ModbusReadQuery {
  unitId: number;
  area: ModbusArea;
  address: number;
  count: number;
  /** What the HMI shows for this value, as typed (decimal comma allowed): the decodings that read it so get `matchesHmi`. */
  hmi?: string;
  /** Reads of the same registers (1-20, default 1), `intervalMs` apart (100-2000, default 500): rising integers and toggling bits are marked. */
  samples?: number;
  intervalMs?: number;
}

/** The source keys of one decoding, as they go into a device file (`type`, `wordOrder`, `byteSwap`, `bit`, `scale`). */
export interface DecodingSource {
  type: 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'int64' | 'uint64' | 'float64';
  wordOrder: 'big' | 'little';
  byteSwap: boolean;
  bit?: number;
  scale?: number;
}

export interface Decoding {
  /** Byte order from most to least significant as stored: `ABCD` big-endian, `CDAB` word-swapped, `BADC` byte-swapped, `DCBA` little-endian (AB/BA for 16 bits, ABCDEFGH... for 64). */
  order: string;
  source: DecodingSource;
  value?: number;
  error?: string;
  /** It reads the value the HMI shows (with `source.scale` when a scale was needed). */
  matchesHmi?: true;
  /** Integer decodings only: it never fell over the samples and rose at least once. */
  likelyCounter?: true;
}

export interface BitDecoding {
  /** Address of the register (register areas) or of the bit (coil, discrete). */
  address: number;
  /** The 1-based Modicon form: 40001, 30001, 00001, 10001. */
  notation: string;
  bit?: number;
  value: boolean;
  source: Partial<DecodingSource> & { area: ModbusArea; address: number };
  /** It was both on and off over the samples. */
  likelyRunStop?: true;
}

interface RegisterView {
  address: number;
  notation: string;
  /** The word as hex (`0x41bc`), or the bit as 0/1. */
  raw: string;
}

/** Registers (or bits) read, decoded every way: what `modbus/read` answers when the unit answered. */
export interface ModbusDecoded {
  area: ModbusArea;
  /** The 0-based address the decodings start at, as the device file writes it. */
  address: number;
  notation: string;
  registers: RegisterView[];
  /** The value starting at `address` over 1, 2 and 4 registers (as far as read), every type and order. */
  decodings: Decoding[];
  /** Every bit of every register read (register areas), or every bit read (coil, discrete). */
  bits: BitDecoding[];
  samples: number;
}

/** The unit answered with a Modbus exception, or did not answer within the device's timeoutMs. */
export type ModbusReadResult =
  | ModbusDecoded
  | { unitId: number; area: ModbusArea; address: number; exception: number }
  | { unitId: number; area: ModbusArea; address: number; timeout: true };

/** A `modbus.units` result. Any answer, an exception included, is present; 10/11 (a gateway's "no such unit") is not. */
export interface UnitScanResult {
  unitId: number;
  present: boolean;
  exception?: number;
  rttMs?: number;
}

/** A `modbus.registers` result: one per address. */
export interface RegisterScanResult {
  address: number;
  value?: number | boolean;
  /** Modbus exception code: 2 is an address the unit does not have. */
  exception?: number;
  timeout?: true;
}

/** A `mqtt.listen` result: one per topic, updated while the job runs. */
export interface TopicResult {
  topic: string;
  /** The last payload as text, cut to 1 KiB. */
  lastPayload: string;
  count: number;
  /** JSON paths of the last payload's values, in the adapter's `path` syntax (`data.counter`, `values.0`), for picking. */
  paths: { path: string; value: unknown }[];
}

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

/** `opcua/read`: a node's attributes; for a variable its value now. */
export interface OpcuaNodeDetail extends OpcuaNode {
  displayName?: string;
  description?: string;
  value?: unknown;
  /** Status of the value: `Good`, `BadWaitingForInitialData`... */
  status?: string;
  sourceTimestamp?: string;
  /** The source keys for a device file: `{ nodeId }`. */
  source: { nodeId: string };
}

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
