/**
 * The gateway never writes to a PLC: the Modbus client it uses (link.ts, bus.ts, the
 * commissioning scans) refuses every function code but 1–4 before a byte leaves, checked
 * at a real pymodbus slave that logs the function code of every request it receives.
 */
import { describe, expect, it } from 'vitest';
import { ModbusClient, tcpLink } from '../../src/adapters/modbus/link.js';
import { clientMethodNames, isAllowedMethod } from '../../src/adapters/modbus/read-only.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { eventually } from '../helpers/wait.js';

const defer = deferCleanup();

const refusedCode = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'not refused';
};

describe('read-only Modbus client', () => {
  it('refuses every write function code (5, 6, 15, 16, 22, 23) and any other request than 1-4, by the method name', () => {
    const c = new ModbusClient();
    const writes = [
      'writeFC5',
      'writeFC6',
      'writeFC15',
      'writeFC16',
      'writeFC22',
      'writeFC23',
      'writeCoil',
      'writeCoils',
      'writeRegister',
      'writeRegisters',
      'writeRegisterEnron',
      'maskWriteRegister',
      'readWriteRegisters',
      'writeCustomFC',
      'customFunction',
      'send',
    ];
    for (const name of writes)
      expect([name, refusedCode(() => (c as unknown as Record<string, (...args: unknown[]) => void>)[name](1, 0, 1, () => {}))]).toEqual([
        name,
        'SFG_MODBUS_WRITE_REFUSED',
      ]);
    // Whatever else modbus-serial offers is refused unless it is a read of FC 1-4 or sends nothing.
    const allowed = clientMethodNames().filter(isAllowedMethod);
    expect(allowed.filter((n) => /^write/.test(n)).sort()).toEqual(['writeFC1', 'writeFC2', 'writeFC3', 'writeFC4']);
  });

  it('sends nothing to the PLC for a write: the slave sees only the reads', async () => {
    const slave = await startPymodbus({ initial: { 'holding:0': [7] } });
    defer(() => slave.kill());
    const c = new ModbusClient();
    c.setTimeout(2000);
    await c.connectTCP('127.0.0.1', { port: slave.port });
    defer(() => new Promise((r) => c.close(r)));
    c.setID(1);

    expect(refusedCode(() => c.writeRegister(0, 99))).toBe('SFG_MODBUS_WRITE_REFUSED');
    expect(() => c.writeFC16(1, 0, [1, 2], () => {})).toThrow(/only reads/);
    expect(refusedCode(() => c.writeCoil(0, true))).toBe('SFG_MODBUS_WRITE_REFUSED');
    expect((await c.readHoldingRegisters(0, 1)).data).toEqual([7]);
    // The slave logs in arrival order: a write sent before the read would be listed before it.
    await eventually(
      () => slave.functionCodes.length,
      (n) => n >= 1,
      10_000,
      'the read logged by the slave',
    );
    expect(slave.functionCodes).toEqual([3]);
  });

  it('is the client the adapter links use', async () => {
    const slave = await startPymodbus({ initial: { 'holding:4': [42] } });
    defer(() => slave.kill());
    const link = tcpLink({ host: '127.0.0.1', port: slave.port, unitId: 1, timeoutMs: 2000 }, 'mbap');
    await link.open();
    defer(() => link.close());
    expect(await link.read('holding', 4, 1)).toEqual([42]);
    expect(Object.getPrototypeOf(ModbusClient.prototype).writeFC6).toBeTypeOf('function');
    expect(ModbusClient.prototype.writeFC6).not.toBe(Object.getPrototypeOf(ModbusClient.prototype).writeFC6);
  });
});
