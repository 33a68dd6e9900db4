/**
 * The simulators serve commissioning (what `simulate` and the demo start): the demo's
 * press-line PLC answers for units 1 and 2 with holes in its register map, and the OPC UA
 * line simulator keeps its nodes in a folder tree to browse down to the counter.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RegisterScanResult, UnitScanResult } from '../../src/core/commission.js';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { startOpcuaLineSim } from '../../src/sim/opcua-line.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionTools, finished } from '../helpers/commission-tools.js';
import { opcuaDevice } from '../helpers/opcua.js';
import { ownedTempDir } from '../helpers/tmp.js';

const dir = ownedTempDir('commission-sim-');
afterAll(() => dir.remove());
const defer = deferCleanup();

const demoPressLine = () =>
  deviceSchema.parse(parse(readFileSync(new URL('../../devices/press-line.yaml', import.meta.url), 'utf8'))) as DeviceOf<'modbus-tcp'>;

const answering = (rs: RegisterScanResult[]) =>
  rs
    .filter((r) => r.value !== undefined)
    .map((r) => r.address)
    .reduce<[number, number][]>((acc, a) => {
      const last = acc.at(-1);
      if (last && last[1] === a - 1) last[1] = a;
      else acc.push([a, a]);
      return acc;
    }, [])
    .map(([a, b]) => `${a}-${b}`)
    .join(' ');

describe('simulators for commissioning', () => {
  it('the demo press-line PLC answers for units 1 and 2, with a register map that has holes', async () => {
    const press = demoPressLine();
    const port = await freePort();
    const sim = await startModbusPlcSim({ port, device: press, tickMs: 0, units: [1, 2], holes: true });
    defer(() => sim.close());
    const target = { ...press, connection: { ...press.connection, port } };
    const { tools } = commissionTools(`${dir.path}/state`);

    const units = tools.startJob('modbus.units', { device: target, from: 1, to: 4 });
    await finished(units);
    expect((units.results as UnitScanResult[]).map((u) => [u.unitId, u.present])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
    ]);

    // press-line uses holding 0..22: the map answers 0..47 but for the reserved 40..43.
    const holding = tools.startJob('modbus.registers', { device: target, area: 'holding', from: 0, to: 99, ratePerS: 50 });
    await finished(holding);
    expect(answering(holding.results as RegisterScanResult[])).toBe('0-39 44-47');
    const coils = tools.startJob('modbus.registers', { device: target, area: 'coil', from: 0, to: 63, ratePerS: 50 });
    await finished(coils);
    expect(answering(coils.results as RegisterScanResult[])).toBe('0-23 28-31');
  });

  it('the OPC UA line simulator keeps the nodes in a folder tree: Plant / device / machine / counter', async () => {
    const port = await freePort();
    const line = opcuaDevice(`opc.tcp://127.0.0.1:${port}`);
    const sim = await startOpcuaLineSim({ device: line, port, stateDir: `${dir.path}/opcua-sim` });
    defer(() => sim.close());
    const { tools } = commissionTools(`${dir.path}/state`);
    const at = async (nodeId: string | undefined, name: string) => {
      const found = (await tools.opcuaBrowse(line, nodeId)).find((n) => n.browseName === name);
      if (!found) throw new Error(`no ${name} under ${nodeId ?? 'Objects'}`);
      return found;
    };
    const plant = await at(undefined, '1:Plant');
    const dev = await at(plant.nodeId, '1:line1-opcua');
    const machine = await at(dev.nodeId, '1:LINE1');
    expect(await at(machine.nodeId, '1:Line1.Counter')).toMatchObject({ nodeId: 'ns=1;s=Line1.Counter', nodeClass: 'Variable', dataType: 'UInt32' });
  });
});
