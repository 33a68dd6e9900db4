/** Shared pieces of the Modbus tests: sources and devices as the config loader gives them. */
import { deviceSchema, modbusSource, type DeviceConfig, type ModbusSource } from '../../src/config/schema.js';

/** A source as a device file would give it (defaults filled in). */
export const source = (s: Record<string, unknown>): ModbusSource => modbusSource.parse(s);

/** A device as the config loader would give it. */
export const device = <D extends DeviceConfig>(d: Record<string, unknown>) => deviceSchema.parse(d) as D;
