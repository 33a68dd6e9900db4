/**
 * Commissioning's OPC UA discovery, on demand and bounded: the children of one node at a
 * time (lazy tree), a breadth-first search by browse name over at most `maxNodes` nodes,
 * and one node's attributes ("go to NodeId"). Only browse and read go out: the session is
 * wrapped so that write, call and every other service throw before a request is made.
 */
import {
  AttributeIds,
  BrowseDirection,
  DataType,
  NodeClass,
  NodeClassMask,
  ReferenceTypeIds,
  resolveNodeId,
  sameNodeId,
  StatusCodes,
  type BrowseDescriptionOptions,
  type ClientSession,
  type DataValue,
  type ReferenceDescription,
} from 'node-opcua';
import type { OpcuaNode, OpcuaNodeDetail } from '../../core/commission.js';
import { GatewayError } from '../../core/errors.js';

/** The services commissioning may use: browse and read. */
export type ReadSession = Pick<ClientSession, 'browse' | 'read'>;

const READ_SERVICES = new Set<PropertyKey>(['browse', 'browseNext', 'read', 'readNamespaceArray', 'translateBrowsePath']);

class OpcuaWriteRefused extends GatewayError<'SFG_OPCUA_WRITE_REFUSED'> {}

/**
 * The session with every method but the read services refused (write, writeSingleNode,
 * call, createSubscription, ...), so nothing but browse and read can leave commissioning.
 */
export function readOnlySession(session: ClientSession): ReadSession {
  return new Proxy(session, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (READ_SERVICES.has(prop)) return value.bind(target);
      return () => {
        throw new OpcuaWriteRefused('SFG_OPCUA_WRITE_REFUSED', `commissioning only browses and reads OPC UA servers: ${String(prop)} is refused`);
      };
    },
  });
}

const OBJECTS_FOLDER = 'i=85';
const HAS_PROPERTY = resolveNodeId(ReferenceTypeIds.HasProperty);

function browseChildren(nodeId: string): BrowseDescriptionOptions {
  return {
    nodeId,
    referenceTypeId: ReferenceTypeIds.HierarchicalReferences,
    includeSubtypes: true,
    browseDirection: BrowseDirection.Forward,
    nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
    resultMask: 0x3f,
  };
}

function invalidNode(nodeId: string, err: unknown): GatewayError {
  return new GatewayError('SFG_OPCUA_BAD_NODE_ID', `${nodeId} is not a node id (such as ns=3;s=Line1.Counter or i=85): ${(err as Error).message}`, {
    cause: err,
  });
}

function checkNodeId(nodeId: string): string {
  try {
    return resolveNodeId(nodeId).toString();
  } catch (err) {
    throw invalidNode(nodeId, err);
  }
}

/** Children references, without the properties (EngineeringUnits, EURange...), which are shown as `units`. */
const isChild = (r: ReferenceDescription) => !sameNodeId(r.referenceTypeId, HAS_PROPERTY);

function accessText(level: unknown): string | undefined {
  if (typeof level !== 'number') return undefined;
  const parts = [level & 1 ? 'read' : undefined, level & 2 ? 'write' : undefined, level & 4 ? 'history' : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function dataTypeText(v: DataValue): string | undefined {
  const id = v.value?.value as { namespace?: number; value?: unknown; toString(): string } | null | undefined;
  if (!id) return undefined;
  if (id.namespace === 0 && typeof id.value === 'number' && DataType[id.value]) return DataType[id.value];
  return id.toString();
}

/** The nodes of `refs` with data type, access level, units and whether they have children: three batched requests. */
async function describe(session: ReadSession, refs: ReferenceDescription[]): Promise<OpcuaNode[]> {
  if (refs.length === 0) return [];
  const ids = refs.map((r) => r.nodeId.toString());
  const below = await session.browse(ids.map((id) => ({ ...browseChildren(id), nodeClassMask: 0 })));
  const variables = refs.flatMap((r, i) => (r.nodeClass === NodeClass.Variable ? [i] : []));
  const attributes = variables.flatMap((i) => [
    { nodeId: ids[i], attributeId: AttributeIds.DataType },
    { nodeId: ids[i], attributeId: AttributeIds.AccessLevel },
  ]);
  // A read of nothing is refused (BadNothingToDo).
  const attrs = attributes.length > 0 ? await session.read(attributes) : [];
  const unitsOf = new Map<number, string>();
  const euRefs = below.flatMap((b, i) => {
    const eu = (b.references ?? []).find((r) => r.browseName.name === 'EngineeringUnits');
    return eu ? [{ i, id: eu.nodeId.toString() }] : [];
  });
  if (euRefs.length > 0) {
    const eus = await session.read(euRefs.map((e) => ({ nodeId: e.id, attributeId: AttributeIds.Value })));
    eus.forEach((v, k) => {
      const info = v.value?.value as { displayName?: { text?: string | null } } | null | undefined;
      const text = info?.displayName?.text;
      if (text) unitsOf.set(euRefs[k].i, text);
    });
  }
  return refs.map((r, i) => {
    const node: OpcuaNode = {
      nodeId: ids[i],
      browseName: r.browseName.toString(),
      nodeClass: NodeClass[r.nodeClass],
      hasChildren: (below[i].references ?? []).some(isChild),
    };
    const v = variables.indexOf(i);
    if (v >= 0) {
      const dataType = dataTypeText(attrs[2 * v]);
      const access = accessText(attrs[2 * v + 1].value?.value);
      if (dataType) node.dataType = dataType;
      if (access) node.accessLevel = access;
    }
    const units = unitsOf.get(i);
    if (units) node.units = units;
    return node;
  });
}

/** The children of `nodeId` (default the Objects folder): objects and variables, described. */
export async function browseNode(session: ReadSession, nodeId = OBJECTS_FOLDER): Promise<OpcuaNode[]> {
  const id = checkNodeId(nodeId);
  const [result] = await session.browse([browseChildren(id)]);
  if (result.statusCode !== StatusCodes.Good) {
    throw new GatewayError('SFG_OPCUA_BROWSE_FAILED', `the server could not browse ${nodeId}: ${result.statusCode.name}`);
  }
  return describe(session, (result.references ?? []).filter(isChild));
}

/** One node's attributes, and for a variable its value now. */
export async function readNode(session: ReadSession, nodeId: string): Promise<OpcuaNodeDetail> {
  const id = checkNodeId(nodeId);
  const attributes = [AttributeIds.NodeClass, AttributeIds.BrowseName, AttributeIds.DisplayName, AttributeIds.Description, AttributeIds.Value];
  const [cls, name, display, description, value] = await session.read(attributes.map((attributeId) => ({ nodeId: id, attributeId })));
  if (cls.statusCode !== StatusCodes.Good) {
    throw new GatewayError('SFG_OPCUA_NO_SUCH_NODE', `the server has no node ${nodeId} (${cls.statusCode.name})`);
  }
  const nodeClass = cls.value.value as NodeClass;
  const ref = {
    nodeId: resolveNodeId(id),
    nodeClass,
    browseName: name.value.value,
    referenceTypeId: resolveNodeId(ReferenceTypeIds.Organizes),
  } as ReferenceDescription;
  const [described] = await describe(session, [ref]);
  const detail: OpcuaNodeDetail = { ...described, source: { nodeId: id } };
  const displayText = (display.value?.value as { text?: string } | null)?.text;
  const descriptionText = (description.value?.value as { text?: string } | null)?.text;
  if (displayText) detail.displayName = displayText;
  if (descriptionText) detail.description = descriptionText;
  if (nodeClass === NodeClass.Variable) {
    detail.status = value.statusCode.name;
    const v: unknown = value.value?.value;
    detail.value = typeof v === 'bigint' ? String(v) : v;
    if (value.sourceTimestamp) detail.sourceTimestamp = value.sourceTimestamp.toISOString();
  }
  return detail;
}

/** Matches per search at most: a search is for finding, not for listing a server. */
const MAX_SEARCH_MATCHES = 50;

/**
 * Breadth-first from the Objects folder, one batched browse per level, until `maxNodes`
 * nodes were visited: nodes whose browse name contains `text` (any case).
 */
export async function searchNodes(session: ReadSession, text: string, limits: { maxNodes: number }): Promise<OpcuaNode[]> {
  const needle = text.trim().toLowerCase();
  if (needle === '') return [];
  const seen = new Set<string>([OBJECTS_FOLDER]);
  const matches: ReferenceDescription[] = [];
  let level = [OBJECTS_FOLDER];
  let visited = 0;
  while (level.length > 0 && visited < limits.maxNodes && matches.length < MAX_SEARCH_MATCHES) {
    const results = await session.browse(level.map(browseChildren));
    const next: string[] = [];
    for (const r of results.flatMap((b) => (b.references ?? []).filter(isChild))) {
      const id = r.nodeId.toString();
      if (seen.has(id) || visited >= limits.maxNodes) continue;
      seen.add(id);
      visited++;
      next.push(id);
      if (r.browseName.name?.toLowerCase().includes(needle) && matches.length < MAX_SEARCH_MATCHES) matches.push(r);
    }
    level = next;
  }
  return describe(session, matches);
}
