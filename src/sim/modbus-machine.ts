/**
 * One simulated machine of a Modbus PLC: what it produced, what its counters show, whether
 * it runs. Values are in the units the gateway reads (after scale/offset); the PLC memory
 * (modbus-plc.ts) encodes them per source.
 */
import type { DeviceOf, ModbusSource } from '../config/schema.js';
import { isBitArea, typeOf, type ModbusType } from '../adapters/modbus/decode.js';

type Machine = DeviceOf<'modbus-tcp'>['machines'][number];

/** Where a counter of this type wraps when the machine sets no counterRollover. */
const ROLLOVER: Record<ModbusType, number> = {
  bool: 2,
  int16: 2 ** 15,
  uint16: 2 ** 16,
  int32: 2 ** 31,
  uint32: 2 ** 32,
  float32: 2 ** 24,
  int64: 2 ** 53,
  uint64: 2 ** 53,
  float64: 2 ** 53,
};
const PARTS_PER_MIN = [50, 70];
const STOP_CHANCE_PER_S = 0.02;
const STOP_S = [3, 8];
const WASTE_CHANCE_PER_S = 0.05;

interface Counter {
  source: ModbusSource;
  raw: number;
  total: number;
  rollover: number;
}

const isBitSource = (s: ModbusSource) => isBitArea(s.area) || s.bit !== undefined;

export class MachineModel {
  private readonly count: Counter | undefined;
  private readonly waste = new Map<string, Counter>();
  private readonly params = new Map<string, { source: ModbusSource; base: number; value: number }>();
  private readonly reasons: number[];
  private readonly partsPerStep: number;
  private readonly stepS: number;
  private running = true;
  private stopLeftS = 0;
  private reason = 0;
  /** The part under way: one is counted when this reaches 1. */
  private carry: number;
  /** Signals forced by set(): no longer simulated. */
  private readonly pinned = new Map<string, number | boolean>();

  /** `start`: counter values at power-on; by default a PLC that has been counting for a while. */
  constructor(
    private readonly cfg: Machine,
    private readonly random: () => number,
    stepMs: number,
    start: { count: number; waste: number } = { count: random() * 1000, waste: random() * 20 },
  ) {
    const counter = (source: ModbusSource, start: number): Counter => {
      const rollover = cfg.counterRollover ?? ROLLOVER[typeOf(source)];
      return { source, raw: Math.floor(start) % rollover, total: 0, rollover };
    };
    this.stepS = stepMs / 1000;
    const [lo, hi] = PARTS_PER_MIN;
    this.partsPerStep = ((lo + (hi - lo) * random()) / 60) * this.stepS;
    // A machine that has been running is somewhere into its next part, not at its start:
    // otherwise every simulated machine would finish its first part together, a whole part
    // time after power-on.
    this.carry = random();
    if (cfg.count) this.count = counter(cfg.count, start.count);
    for (const w of cfg.waste) this.waste.set(w.code, counter(w.source, start.waste));
    for (const p of cfg.parameters) {
      const base = Math.round(200 + 600 * random()) / 10;
      this.params.set(p.code, { source: p.source, base, value: base });
    }
    this.reasons = Object.keys(cfg.stopReason?.map ?? {})
      .map(Number)
      .filter(Number.isInteger);
  }

  step(): void {
    const r = this.random;
    if (!this.pinned.has('running')) {
      if (this.running && r() < STOP_CHANCE_PER_S * this.stepS) {
        this.running = false;
        this.stopLeftS = STOP_S[0] + (STOP_S[1] - STOP_S[0]) * r();
        this.reason = this.reasons.length > 0 ? this.reasons[Math.floor(r() * this.reasons.length)] : 0;
      } else if (!this.running) {
        this.stopLeftS -= this.stepS;
        if (this.stopLeftS <= 0) this.running = true;
      }
    }
    if (this.running) {
      this.carry += this.partsPerStep;
      const parts = Math.floor(this.carry);
      this.carry -= parts;
      if (this.count) add(this.count, parts);
      const codes = [...this.waste.keys()];
      if (codes.length > 0 && r() < WASTE_CHANCE_PER_S * this.stepS) add(this.waste.get(codes[Math.floor(r() * codes.length)])!, 1);
    }
    // Per second: noise of ±2 % of the base and a tenth of the way back to it, whatever the step.
    for (const p of this.params.values()) {
      p.value += (r() - 0.5) * 0.04 * p.base * Math.sqrt(this.stepS) + (p.base - p.value) * 0.1 * this.stepS;
    }
  }

  /** Every signal's source with the value it shows now. */
  outputs(): [ModbusSource, number | boolean][] {
    const out: [ModbusSource, number | boolean][] = [];
    const cfg = this.cfg;
    if (this.count) out.push([this.count.source, this.count.raw]);
    for (const w of this.waste.values()) out.push([w.source, w.raw]);
    const running = Boolean(this.pinned.get('running') ?? this.running);
    if (cfg.running) out.push([cfg.running, running]);
    if (cfg.stopReason) out.push([cfg.stopReason.source as ModbusSource, this.pinned.get('stopReason') ?? (running ? 0 : this.reason)]);
    for (const [code, p] of this.params) {
      const value = this.pinned.get(`param:${code}`) ?? (isBitSource(p.source) ? p.value > p.base : p.value);
      out.push([p.source, value]);
    }
    return out;
  }

  set(key: string, value: number | boolean): void {
    const counter = key === 'count' ? this.count : key.startsWith('waste:') ? this.waste.get(key.slice(6)) : undefined;
    if (counter) counter.raw = Number(value);
    else this.pinned.set(key, value);
  }

  reset(): void {
    for (const c of [this.count, ...this.waste.values()]) if (c) c.raw = 0;
  }

  nearRollover(): void {
    if (this.count) this.count.raw = this.count.rollover - 3;
  }

  produced(): { count: number; waste: Record<string, number> } {
    const waste: Record<string, number> = {};
    for (const [code, w] of this.waste) waste[code] = w.total;
    return { count: this.count?.total ?? 0, waste };
  }
}

function add(c: Counter, n: number): void {
  c.raw = (c.raw + n) % c.rollover;
  c.total += n;
}
