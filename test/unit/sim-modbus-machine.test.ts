/**
 * The demo's simulated machine (src/sim/modbus-machine.ts): it behaves like one that has
 * been running, so the demo's first count comes when a real line's would.
 */
import { describe, expect, it } from 'vitest';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { MachineModel } from '../../src/sim/modbus-machine.js';

const [machine] = (
  deviceSchema.parse({
    device: 'plc',
    protocol: 'modbus-tcp',
    connection: { host: '127.0.0.1' },
    machines: [{ code: 'M1', count: { area: 'holding', address: 0, type: 'uint32' } }],
  }) as DeviceOf<'modbus-tcp'>
).machines;

/** Steps of `stepMs` until the first part is counted. */
function stepsToFirstPart(random: () => number, stepMs: number): number {
  const model = new MachineModel(machine, random, stepMs, { count: 0, waste: 0 });
  for (let step = 1; step <= 100; step++) {
    model.step();
    if (model.produced().count > 0) return step;
  }
  return Infinity;
}

describe('simulated Modbus machine', () => {
  it('is partway into its next part at power-on: the first part comes within one part time, not always a whole one later', () => {
    // 60 parts a minute (random 0.5 between 50 and 70), the part under way half done.
    expect(stepsToFirstPart(() => 0.5, 250)).toBe(2);
    // Another machine, nearly done with its part, counts it in the first step.
    const nearlyDone = [0.5, 0.9];
    expect(stepsToFirstPart(() => nearlyDone.shift() ?? 0.5, 250)).toBe(1);
  });
});
