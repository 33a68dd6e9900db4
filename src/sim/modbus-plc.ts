/**
 * A simulated Modbus TCP PLC driven by a device file: per machine it counts parts
 * (~60/min while running), adds waste now and then, stops for a few seconds at times
 * (with a stop reason from the machine's map) and lets parameters drift. Values are
 * written with each source's type, word order, byte swap, bit, scale and offset, so the
 * gateway reads them back exactly as from a real PLC. For demos and tests.
 */
import { freePort } from './free-port.js';
import modbusSerial from 'modbus-serial';
import { systemClock, type Clock } from '../core/clock.js';
import type { DeviceOf, ModbusSource } from '../config/schema.js';
import { encode, span } from '../adapters/modbus/decode.js';
import { listSignals } from '../adapters/signals.js';
import { MachineModel } from './modbus-machine.js';

export interface ModbusPlcSimOptions {
  host?: string;
  /** 0 or absent: a free port (modbus-serial itself would turn 0 into 502). */
  port?: number;
  device: DeviceOf<'modbus-tcp'>;
  clock?: Clock;
  /** Automatic step every tickMs (default 1000); 0 = only when tick() is called. */
  tickMs?: number;
  random?: () => number;
  /**
   * Counter values at power-on. The demo derives them from the time of day, faster than
   * the simulated machines count, so that a restarted demo PLC looks like one that went on
   * counting while it was down, not like a counter reset.
   */
  startCounts?: (machine: string) => { count: number; waste: number };
  /**
   * Unit ids that answer (default: the device's). Others get exception 11, as a Modbus TCP
   * gateway answers for a unit it cannot reach, so a unit scan finds exactly these.
   */
  units?: number[];
  /**
   * A register map with holes, as real PLCs have, for trying commissioning's scans: each
   * area answers from 0 up to a little above the highest address the device uses, except
   * a block of four reserved addresses in that spare space; every other address answers
   * exception 2 (illegal data address). Without it every address reads (as 0 when unset).
   */
  holes?: boolean;
}

export interface ModbusPlcSim {
  port: number;
  /** Advances every machine by one step. */
  tick(): void;
  resetCounter(machine: string): void;
  /** Sets the raw counter a few parts below its rollover, so it wraps soon. */
  wrapCounter(machine: string): void;
  /** Forces a signal (`count`, `waste:<code>`, `running`, `stopReason`, `param:<code>`). */
  set(machine: string, signalKey: string, value: number | boolean): void;
  /** True totals produced since start, whatever the counters show. */
  produced(machine: string): { count: number; waste: Record<string, number> };
  close(): Promise<void>;
}

type Area = ModbusSource['area'];

const ILLEGAL_ADDRESS = { modbusErrorCode: 2 };
const NO_SUCH_UNIT = { modbusErrorCode: 11 };

/** The addresses each area answers with `holes`: 0..top, top at least 16 above the highest used one, minus a block of four. */
function registerMap(device: DeviceOf<'modbus-tcp'>): (area: Area, address: number) => boolean {
  const highest: Record<Area, number> = { holding: -1, input: -1, coil: -1, discrete: -1 };
  for (const s of listSignals(device)) highest[s.source.area] = Math.max(highest[s.source.area], s.source.address + span(s.source) - 1);
  const top = (area: Area) => Math.ceil((highest[area] + 1) / 16) * 16 + 15;
  return (area, address) => address <= top(area) && !(address >= top(area) - 7 && address <= top(area) - 4);
}

/** The PLC's memory: unset addresses read as 0, so batched reads across gaps succeed. */
class Memory {
  readonly words = { holding: new Map<number, number>(), input: new Map<number, number>() };
  readonly bits = { coil: new Map<number, boolean>(), discrete: new Map<number, boolean>() };

  word(area: 'holding' | 'input', address: number): number {
    return this.words[area].get(address) ?? 0;
  }

  bit(area: 'coil' | 'discrete', address: number): boolean {
    return this.bits[area].get(address) ?? false;
  }

  write(source: ModbusSource, value: number | boolean): void {
    const area: Area = source.area;
    if (area === 'coil' || area === 'discrete') {
      this.bits[area].set(source.address, Boolean(value));
      return;
    }
    const words = encode(source, value, this.word(area, source.address)) as number[];
    words.forEach((w, i) => {
      this.words[area].set(source.address + i, w);
    });
  }
}

export async function startModbusPlcSim(opts: ModbusPlcSimOptions): Promise<ModbusPlcSim> {
  const { device } = opts;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const tickMs = opts.tickMs ?? 1000;
  const port = opts.port || (await freePort(opts.host));
  const memory = new Memory();
  const machines = new Map(device.machines.map((m) => [m.code, new MachineModel(m, random, tickMs || 1000, opts.startCounts?.(m.code))]));

  const writeAll = () => {
    for (const model of machines.values()) {
      for (const [source, value] of model.outputs()) {
        try {
          memory.write(source, value);
        } catch {
          // A value the source's type cannot hold (e.g. a drifting parameter under a tiny scale): keep the last one.
        }
      }
    }
  };
  writeAll();

  const units = new Set(opts.units ?? [device.connection.unitId]);
  const mapped = opts.holes ? registerMap(device) : () => true;
  // modbus-serial answers a thrown { modbusErrorCode } with that exception.
  const check = (area: Area, addr: number, length: number, unit: number) => {
    if (!units.has(unit)) throw NO_SUCH_UNIT;
    for (let i = 0; i < length; i++) if (!mapped(area, addr + i)) throw ILLEGAL_ADDRESS;
  };
  const regs = (area: 'holding' | 'input') => ({
    one: (addr: number, unit: number) => {
      check(area, addr, 1, unit);
      return memory.word(area, addr);
    },
    many: (addr: number, length: number, unit: number) => {
      check(area, addr, length, unit);
      return Array.from({ length }, (_, i) => memory.word(area, addr + i));
    },
  });
  const bit = (area: 'coil' | 'discrete') => (addr: number, unit: number) => {
    check(area, addr, 1, unit);
    return memory.bit(area, addr);
  };
  const holding = regs('holding');
  const input = regs('input');
  // Arity matters: modbus-serial treats one more parameter as a callback. Writes are
  // served (for tools that set values); the gateway itself never sends one.
  const server = new modbusSerial.ServerTCP(
    {
      getHoldingRegister: holding.one,
      getMultipleHoldingRegisters: holding.many,
      getInputRegister: input.one,
      getMultipleInputRegisters: input.many,
      getCoil: bit('coil'),
      getDiscreteInput: bit('discrete'),
      setRegister: (addr: number, value: number, _unit: number) => void memory.words.holding.set(addr, value),
      setCoil: (addr: number, value: boolean, _unit: number) => void memory.bits.coil.set(addr, value),
    },
    // 255: every unit id reaches the vector, which answers for `units` only.
    { host: opts.host ?? '127.0.0.1', port, unitID: 255 },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });

  let timer: unknown;
  const tick = () => {
    for (const model of machines.values()) model.step();
    writeAll();
  };
  const loop = () => {
    timer = clock.setTimeout(() => {
      tick();
      loop();
    }, tickMs);
  };
  if (tickMs > 0) loop();

  const model = (code: string) => {
    const m = machines.get(code);
    if (!m) throw new Error(`no machine ${code} on device ${device.device}`);
    return m;
  };
  const change = (code: string, fn: (m: MachineModel) => void) => {
    fn(model(code));
    writeAll();
  };

  return {
    port,
    tick,
    resetCounter: (code) => change(code, (m) => m.reset()),
    wrapCounter: (code) => change(code, (m) => m.nearRollover()),
    set: (code, key, value) => change(code, (m) => m.set(key, value)),
    produced: (code) => model(code).produced(),
    close: () =>
      new Promise<void>((resolve) => {
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        server.close(() => resolve());
      }),
  };
}
