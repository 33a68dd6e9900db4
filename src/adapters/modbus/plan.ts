/**
 * Read planning: the signals of one device grouped into as few Modbus requests as the
 * protocol allows. Neighbours merge across at most `maxGap` unused addresses (reading a
 * few unused registers is cheaper than another round trip, but unused addresses may not
 * exist on the PLC, hence the bound); signals sharing a register share it.
 */
import type { ModbusSource } from '../../config/schema.js';
import type { Signal } from '../signals.js';
import { span, type ModbusArea } from './decode.js';

/** Protocol limits per request: 125 registers (FC 3/4), 2000 bits (FC 1/2). */
export const MAX_READ: Record<ModbusArea, number> = { holding: 125, input: 125, coil: 2000, discrete: 2000 };

const AREA_ORDER: ModbusArea[] = ['holding', 'input', 'coil', 'discrete'];
const ADDRESS_SPACE = 65536;

export type ModbusSignal = Signal<ModbusSource>;

export interface ReadBlock {
  area: ModbusArea;
  start: number;
  count: number;
  /** In address order; each lies wholly inside [start, start + count). */
  signals: ModbusSignal[];
}

export interface ReadPlan {
  blocks: ReadBlock[];
  /** Signals that run past the last address (65535); no request can read them. */
  rejected: ModbusSignal[];
}

export function planReads(signals: readonly ModbusSignal[], maxGap: number): ReadPlan {
  const rejected = signals.filter((s) => s.source.address + span(s.source) > ADDRESS_SPACE);
  const blocks: ReadBlock[] = [];
  for (const area of AREA_ORDER) {
    const inArea = signals.filter((s) => s.source.area === area && !rejected.includes(s)).sort((a, b) => a.source.address - b.source.address);
    let block: ReadBlock | undefined;
    for (const s of inArea) {
      const start = s.source.address;
      const end = start + span(s.source);
      const blockEnd = block ? block.start + block.count : 0;
      // Sorted by start, so greedy extension yields the fewest blocks.
      if (block && start - blockEnd <= maxGap && Math.max(end, blockEnd) - block.start <= MAX_READ[area]) {
        block.count = Math.max(end, blockEnd) - block.start;
        block.signals.push(s);
      } else {
        block = { area, start, count: end - start, signals: [s] };
        blocks.push(block);
      }
    }
  }
  return { blocks, rejected };
}
