/**
 * The flat list of signals a device carries. Every adapter reads the same list, so the
 * names of signals (`count`, `waste:<code>`, `running`, `stopReason`, `param:<code>`)
 * are the same everywhere: in readings, in probe tables, on the status page.
 */
import type { DeviceConfig } from '../config/schema.js';

export type SignalKind = 'count' | 'waste' | 'running' | 'stopReason' | 'parameter';

/** Count and waste: cumulative counters, whose readings carry their rollover (`Reading.rollover`). */
export function isCounter(kind: SignalKind): boolean {
  return kind === 'count' || kind === 'waste';
}

/** The source object of a signal, for whichever protocol the device speaks. */
export type SourceOf<D extends DeviceConfig> = NonNullable<D['machines'][number]['count']>;

export interface Signal<S = SourceOf<DeviceConfig>> {
  machine: string;
  /** Unique within a machine: `count`, `waste:<code>`, `running`, `stopReason`, `param:<code>`. */
  key: string;
  kind: SignalKind;
  /** Waste code or parameter code. */
  code?: string;
  source: S;
}

export function listSignals<D extends DeviceConfig>(device: D): Signal<SourceOf<D>>[] {
  const out: Signal<SourceOf<D>>[] = [];
  for (const m of device.machines as D['machines'][number][]) {
    const source = (s: unknown) => s as SourceOf<D>;
    if (m.count) out.push({ machine: m.code, key: 'count', kind: 'count', source: source(m.count) });
    for (const w of m.waste) out.push({ machine: m.code, key: `waste:${w.code}`, kind: 'waste', code: w.code, source: source(w.source) });
    if (m.running) out.push({ machine: m.code, key: 'running', kind: 'running', source: source(m.running) });
    if (m.stopReason) out.push({ machine: m.code, key: 'stopReason', kind: 'stopReason', source: source(m.stopReason.source) });
    for (const p of m.parameters) out.push({ machine: m.code, key: `param:${p.code}`, kind: 'parameter', code: p.code, source: source(p.source) });
  }
  return out;
}

/**
 * Applies `scale` then `offset`, the linear conversion any source may carry. Rounded to
 * 15 significant digits so that 262 × 0.1 is 26.2 on the page and at the MES, not 26.200000000000003.
 */
export function scaled(value: number, source: { scale?: number; offset?: number }): number {
  if (source.scale === undefined && source.offset === undefined) return value;
  return Number((value * (source.scale ?? 1) + (source.offset ?? 0)).toPrecision(15));
}
