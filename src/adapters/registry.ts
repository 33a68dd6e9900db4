/**
 * Protocol name → adapter factory. Adapters are imported lazily so that a gateway
 * without OPC UA devices never loads node-opcua (~130 MB resident).
 */
import type { Protocol, DeviceConfig } from '../config/schema.js';
import type { AdapterFactory } from './types.js';

type FactoryOf<P extends Protocol> = AdapterFactory<Extract<DeviceConfig, { protocol: P }>>;

const loaders: { [P in Protocol]: () => Promise<FactoryOf<P>> } = {
  'modbus-tcp': async () => (await import('./modbus/adapter.js')).createModbusAdapter,
  'modbus-rtu-over-tcp': async () => (await import('./modbus/adapter.js')).createModbusAdapter,
  'modbus-rtu': async () => (await import('./modbus/adapter.js')).createModbusAdapter,
  opcua: async () => (await import('./opcua/adapter.js')).createOpcuaAdapter,
  mqtt: async () => (await import('./mqtt/adapter.js')).createMqttAdapter,
};

export async function adapterFactory(protocol: DeviceConfig['protocol']): Promise<AdapterFactory> {
  const load = loaders[protocol];
  if (!load) throw new Error(`unknown protocol ${String(protocol)}; known: ${Object.keys(loaders).join(', ')}`);
  // The gateway hands each factory only devices of its own protocol.
  return (await load()) as AdapterFactory;
}
