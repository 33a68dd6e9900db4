/**
 * The smallest plant: one simulated Modbus PLC with machine M1 counting on holding 0, and the
 * MES sandbox knowing M1. Both are closed by `defer` (test/helpers/cleanup.ts).
 */
import { parse } from 'yaml';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { type MesSandbox, startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { type ModbusPlcSim, startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import type { Closer } from './cleanup.js';

export interface OneMachine {
  /** The device file of the PLC, for writeConfig's `devices`. */
  yaml: string;
  sim: ModbusPlcSim;
  mes: MesSandbox;
}

export async function startOneMachine(defer: (close: Closer) => void): Promise<OneMachine> {
  const port = await freePort();
  const yaml = `device: plc
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port} }
machines:
  - code: M1
    count: { area: holding, address: 0 }
`;
  const sim = await startModbusPlcSim({ port, device: deviceSchema.parse(parse(yaml)) as DeviceOf<'modbus-tcp'>, tickMs: 0 });
  defer(() => sim.close());
  const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { M1: {} } });
  defer(() => mes.close());
  return { yaml, sim, mes };
}
