/**
 * PLC faults, end to end: Debian's pymodbus as the PLC, the gateway process, the MES
 * sandbox. A machine model in the test knows what the machine really made; pymodbus
 * injects the fault (a killed PLC, exception answers, silence, resets, wraps, glitched and
 * torn reads, a frozen value). Whatever happens, the MES must end with exactly the parts
 * and the waste made since the gateway first saw the counters, reached by strictly rising
 * counts, none refused.
 *
 * The machine makes its parts at a steady rate of `perStep` per step, and a step is taken
 * each time the gateway has read the PLC twice (polls at 50 ms), so every value is seen and
 * the observed rate is what a plausibility check over elapsed time would learn.
 */
import { describe, expect, it } from 'vitest';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import { startPymodbus, type Pymodbus } from '../helpers/modbus-pymodbus.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

type CountType = 'uint16' | 'uint32';
const M = 'M1';
const WASTE = 'W1';
const WASTE_ADDRESS = 2;
/** Waste: one part in this many steps. */
const WASTE_EVERY = 4;

const device = (port: number, type: CountType) => `device: line
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 300 }
pollIntervalMs: 50
machines:
  - code: ${M}
    initialCount: zero
    count: { area: holding, address: 0, type: ${type} }
    waste:
      - code: ${WASTE}
        source: { area: holding, address: ${WASTE_ADDRESS}, type: uint16 }
`;

/** What the machine really made, and what its (resettable, wrapping) PLC counters show. */
class Machine {
  made = 0;
  scrapped = 0;
  raw: number;
  rawWaste: number;
  private steps = 0;
  private readonly modulus: number;

  constructor(
    readonly type: CountType,
    start: number,
    startWaste = 100,
  ) {
    this.modulus = type === 'uint16' ? 2 ** 16 : 2 ** 32;
    this.raw = start;
    this.rawWaste = startWaste;
  }

  /** The count register(s): uint32 is high word first (the default word order). */
  words(raw = this.raw): number[] {
    return this.type === 'uint16' ? [raw] : [Math.floor(raw / 65536), raw % 65536];
  }

  /** Holding registers 0..2: the count (a uint16 leaves register 1 at 0), then the waste. */
  registers(): number[] {
    const count = this.words();
    return [...count, ...(count.length === 1 ? [0] : []), this.rawWaste];
  }

  /** Power-on memory for a (re)started PLC. */
  memory(): Record<string, number[]> {
    return { 'holding:0': this.registers() };
  }

  /** One step of production, in the counters only; `write` puts them into the PLC. */
  make(parts: number): void {
    this.made += parts;
    this.raw = (this.raw + parts) % this.modulus;
    if (++this.steps % WASTE_EVERY === 0) {
      this.scrapped += 1;
      this.rawWaste = (this.rawWaste + 1) % 2 ** 16;
    }
  }

  /** The operator resets both counters (shift change). */
  reset(): void {
    this.raw = 0;
    this.rawWaste = 0;
  }

  write(plc: Pymodbus): Promise<void> {
    return plc.set('holding', 0, ...this.registers());
  }
}

interface Rig {
  plc: Pymodbus;
  mes: MesSandbox;
  gw: GatewayProcess;
  machine: Machine;
  /** Resolves once the gateway has read the counter block `n` more times. */
  reads(n?: number): Promise<void>;
  /** `steps` steps of `perStep` parts each, written to the PLC, each read by the gateway. */
  run(steps: number, perStep: number): Promise<void>;
  /** Waits until the MES holds what the machine made, then checks it stays there and how it got there. */
  settled(): Promise<void>;
}

describe('PLC faults: the MES ends with exactly what the machine made', () => {
  const dir = tempDir('sfg-plc-faults-');
  const defer = deferCleanup();

  async function rig(type: CountType, start: number): Promise<Rig> {
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { [M]: { waste: [WASTE] } } });
    defer(() => mes.close());
    const machine = new Machine(type, start);
    const r: Rig = {
      plc: await startPymodbus({ initial: machine.memory() }),
      mes,
      machine,
      gw: undefined as unknown as GatewayProcess,
      async reads(n = 2) {
        const seen = () => r.plc.requests.filter((q) => q.area === 'holding' && q.address === 0).length;
        const target = seen() + n;
        await eventually(seen, (k) => k >= target, 20_000, `${n} more reads of the counters`);
      },
      async run(steps, perStep) {
        for (let i = 0; i < steps; i++) {
          machine.make(perStep);
          await machine.write(r.plc);
          await r.reads();
        }
      },
      async settled() {
        const s = () => mes.state[M];
        const expected = { count: machine.made, waste: { [WASTE]: machine.scrapped } };
        await eventually(
          () => ({ count: s().count ?? 0, waste: s().waste[WASTE] ?? 0 }),
          (v) => v.count >= expected.count && v.waste >= expected.waste.W1,
          20_000,
          `MES count ${expected.count} and waste ${expected.waste.W1}`,
        );
        // Let more polls come in: a late over-count would show now.
        await r.reads(6);
        expect({ count: s().count, waste: s().waste }).toEqual(expected);
        const counts = s()
          .counterLog.map((c) => c.count)
          .filter((c): c is number => c !== undefined);
        for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
        const refused = mes.requests.filter((q) => q.status !== 200);
        expect(refused).toEqual([]);
      },
    };
    defer(() => r.plc.kill());
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { line: device(r.plc.port, type) } });
    r.gw = startGateway(cfg.gatewayFile);
    defer(() => r.gw.kill('SIGKILL'));
    for (const signal of ['count', `waste:${WASTE}`]) await r.gw.waitForLog((l) => l.event === 'counter.first_seen' && l.signal === signal);
    return r;
  }

  it('a PLC killed mid-run and restarted on the same port, having counted on while down', async () => {
    const r = await rig('uint16', 1000);
    await r.run(10, 3);
    await r.plc.kill();
    for (let i = 0; i < 5; i++) r.machine.make(3);
    // The PLC's counters are retentive: it comes back showing what was made meanwhile.
    r.plc = await startPymodbus({ port: r.plc.port, initial: r.machine.memory() });
    await r.run(10, 3);
    await r.settled();
    expect(r.gw.logs.some((l) => l.event === 'device.disconnected')).toBe(true);
  });

  it('exception answers 4 (device failure) and 6 (busy) in the middle of production', async () => {
    const r = await rig('uint16', 1000);
    await r.run(5, 3);
    await r.plc.fail(4, 3);
    await r.run(4, 3);
    await r.plc.fail(6, 3);
    await r.run(6, 3);
    await r.settled();
    // Each answer was shown as a bad value of its own kind, not taken as a lost PLC.
    const errors = r.gw.logs.filter((l) => l.event === 'signal.bad_value').map((l) => String(l.error));
    expect(errors.some((e) => e.startsWith('Modbus exception 4'))).toBe(true);
    expect(errors.some((e) => e.startsWith('Modbus exception 6'))).toBe(true);
    expect(r.gw.logs.some((l) => l.event === 'device.disconnected')).toBe(false);
  });

  it('reads that get no answer (timeouts), then answers again', async () => {
    const r = await rig('uint16', 1000);
    await r.run(5, 3);
    await r.plc.mute(2);
    await r.run(8, 3);
    await r.settled();
    expect(r.gw.logs.some((l) => l.event === 'device.disconnected' && String(l.error) === 'Timed out')).toBe(true);
  });

  it('a counter reset in the middle of the range (30000 → 0)', async () => {
    const r = await rig('uint16', 29_970);
    await r.run(10, 3);
    r.machine.reset();
    await r.machine.write(r.plc);
    await r.reads();
    await r.run(10, 3);
    await r.settled();
  });

  // 136 parts short of the top: a wrap would mean 136 parts in one poll from a machine making
  // 3 every two, so it is a reset. (A reset closer to the top than the plausible production of
  // one poll cannot be told from a wrap; docs/guard.md says how that case is counted.)
  it('a counter reset near the top of the uint16 range (65400 → 0)', async () => {
    const r = await rig('uint16', 65_370);
    await r.run(10, 3);
    expect(r.machine.raw).toBe(65_400);
    r.machine.reset();
    await r.machine.write(r.plc);
    await r.reads();
    await r.run(10, 3);
    await r.settled();
  });

  it('a uint16 counter that wraps 65535 → 3', async () => {
    const r = await rig('uint16', 65_519);
    await r.run(4, 4);
    expect(r.machine.raw).toBe(65_535);
    await r.run(6, 4);
    await r.settled();
  });

  // Without maxCountJump: a single bad read is no production (the guard holds it, the next read settles it as a glitch).
  it('single glitched reads: the count reads 65535 once, later 0 once; the waste reads 65535 once', async () => {
    const r = await rig('uint16', 1000);
    await r.run(5, 3);
    await r.plc.glitch('holding', 0, 65_535);
    await r.run(5, 3);
    await r.plc.glitch('holding', 0, 0);
    await r.run(5, 3);
    await r.plc.glitch('holding', WASTE_ADDRESS, 65_535);
    await r.run(5, 3);
    await r.settled();
  });

  // 0x0000FFFF → 0x00000000 → 0x00010000: the torn read is held, and the next read is no confirmation of it.
  it('a torn 32-bit write: low word written first, the gateway reads in between', async () => {
    const r = await rig('uint32', 65_535 - 3 * 8);
    await r.run(8, 3);
    expect(r.machine.words()).toEqual([0, 0xffff]);
    // The PLC goes to 0x00010000 writing its low word first; one read sees 0x00000000.
    r.machine.make(1);
    await r.plc.set('holding', 1, 0);
    await r.plc.afterRead('holding', 0, 1);
    await r.reads();
    await r.run(8, 2);
    await r.settled();
  });

  it('a value that freezes while the connection stays up, then shows the parts made meanwhile', async () => {
    const r = await rig('uint16', 1000);
    await r.run(5, 3);
    for (let i = 0; i < 10; i++) {
      r.machine.make(3);
      await r.reads();
    }
    await r.run(5, 3);
    await r.settled();
  });
});
