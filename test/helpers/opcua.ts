/** Shared pieces of the OPC UA tests: a device config, a free port. */
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';

/** A line with every signal kind, on the simulator's default nodes. */
export function opcuaDevice(endpointUrl: string, connection: Record<string, unknown> = {}, machine: Record<string, unknown> = {}): DeviceOf<'opcua'> {
  return deviceSchema.parse({
    device: 'line1-opcua',
    protocol: 'opcua',
    pollIntervalMs: 100,
    connection: { endpointUrl, samplingIntervalMs: 50, ...connection },
    machines: [
      {
        code: 'LINE1',
        count: { nodeId: 'ns=1;s=Line1.Counter' },
        waste: [{ code: 'Scrap', source: { nodeId: 'ns=1;s=Line1.Waste' } }],
        running: { nodeId: 'ns=1;s=Line1.Running' },
        stopReason: { source: { nodeId: 'ns=1;s=Line1.StopReason' }, map: { 1: 'Maintenance' }, default: 'Unplanned' },
        parameters: [{ code: 'temperature', source: { nodeId: 'ns=1;s=Line1.Temperature', scale: 10 } }],
        ...machine,
      },
    ],
  }) as DeviceOf<'opcua'>;
}
