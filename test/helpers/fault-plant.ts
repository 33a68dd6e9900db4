/**
 * A plant for the fault suite: N machines on one real pymodbus PLC, each with a good-parts
 * counter, two waste codes, a parameter and a run/stop coil, read by the gateway through
 * device files of `perDevice` machines each. The test changes the PLC through this helper,
 * so it always knows what the MES must end up with, and when each run/stop transition happened.
 */
import type { SandboxMachineConfig, SandboxMachineState } from '../../src/sim/mes-sandbox.js';
import { startPymodbus, type Pymodbus } from './modbus-pymodbus.js';
import type { PlcTransition } from './fault-checks.js';
import { eventually } from './wait.js';

/** Registers per machine: count (uint32, 2), W1, W2, temperature. */
const STRIDE = 5;
export const WASTE = ['W1', 'W2'] as const;
const DOWNTIME = 'Stop';

interface PlantMachine {
  code: string;
  /** The count the gateway first saw: nothing is sent until it changes (SPEC §4). */
  readonly firstCount: number;
  count: number;
  waste: Record<(typeof WASTE)[number], number>;
  temperature: number;
  running: boolean;
  transitions: PlcTransition[];
}

export interface Plant {
  plc: Pymodbus;
  machines: PlantMachine[];
  /** Device files for writeConfig. */
  devices(): Record<string, string>;
  /** Machines for startMesSandbox. */
  sandboxMachines(): Record<string, SandboxMachineConfig>;
  /** Writes every machine's values to the PLC (two commands), stamping run/stop transitions. */
  flush(): Promise<void>;
  /** Resolves after the gateway began `polls` more reads of every device (it saw the last flush). */
  polled(polls?: number): Promise<void>;
  /** What the MES holds differs from the PLC: a list of differences, empty when exact. */
  differences(state: Record<string, SandboxMachineState>): string[];
  kill(): Promise<void>;
}

/** `prefix`: machine codes are `<prefix>1`, `<prefix>2`, ... (default `M`), so plants of several gateways can share one MES. */
export async function startPlant(opts: { machines: number; perDevice: number; pollIntervalMs: number; prefix?: string }): Promise<Plant> {
  const plc = await startPymodbus({ size: Math.max(1000, opts.machines * STRIDE + 10) });
  // Counts stay below 65536 so the high word of the uint32 never changes: torn reads are
  // the PLC-fault suite's subject, not this one's.
  const machines: PlantMachine[] = Array.from({ length: opts.machines }, (_, i) => ({
    code: `${opts.prefix ?? 'M'}${i + 1}`,
    firstCount: 1000 + i,
    count: 1000 + i,
    waste: { W1: 0, W2: 0 },
    temperature: 20,
    running: true,
    transitions: [],
  }));
  const written = machines.map((m) => m.running);
  const groups = Array.from({ length: Math.ceil(opts.machines / opts.perDevice) }, (_, g) =>
    machines.map((_, i) => i).filter((i) => Math.floor(i / opts.perDevice) === g),
  );

  const machineYaml = (i: number) => {
    const base = i * STRIDE;
    return `  - code: ${machines[i].code}
    downtimeType: ${DOWNTIME}
    count: { area: holding, address: ${base}, type: uint32 }
    waste:
      - { code: W1, source: { area: holding, address: ${base + 2} } }
      - { code: W2, source: { area: holding, address: ${base + 3} } }
    running: { area: coil, address: ${i} }
    parameters:
      - { code: temperature, source: { area: holding, address: ${base + 4} } }
`;
  };

  const plant: Plant = {
    plc,
    machines,
    devices: () =>
      Object.fromEntries(
        groups.map((g, k) => [
          `plc${k + 1}`,
          `device: plc${k + 1}
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${plc.port}, timeoutMs: 1000 }
pollIntervalMs: ${opts.pollIntervalMs}
machines:
${g.map(machineYaml).join('')}`,
        ]),
      ),
    sandboxMachines: () => Object.fromEntries(machines.map((m) => [m.code, { waste: [...WASTE], downtimeTypes: [DOWNTIME] }])),
    async flush() {
      await plc.set('holding', 0, ...machines.flatMap((m) => [0, m.count, m.waste.W1, m.waste.W2, m.temperature]));
      await plc.set('coil', 0, ...machines.map((m) => (m.running ? 1 : 0)));
      const at = Date.now();
      machines.forEach((m, i) => {
        if (m.running !== written[i]) m.transitions.push({ at, running: m.running ? 1 : 0 });
        written[i] = m.running;
      });
    },
    async polled(polls = 2) {
      // A read that began before the flush may carry old values: wait for `polls` reads that
      // began after it, of every device's first coil (each device reads its coils in one request).
      const from = plc.requests.length;
      await eventually(
        () => groups.every((g) => plc.requests.slice(from).filter((r) => r.area === 'coil' && r.address === g[0]).length >= polls),
        (ok) => ok,
        20_000,
        'the gateway reading every device',
      );
    },
    differences(state) {
      const out: string[] = [];
      for (const m of machines) {
        const s = state[m.code];
        if ((s.count ?? m.firstCount) !== m.count) out.push(`${m.code} count: MES ${s.count}, PLC ${m.count}`);
        for (const w of WASTE) if ((s.waste[w] ?? 0) !== m.waste[w]) out.push(`${m.code} ${w}: MES ${s.waste[w]}, PLC ${m.waste[w]}`);
      }
      return out;
    },
    kill: () => plc.kill(),
  };
  await plant.flush();
  return plant;
}
