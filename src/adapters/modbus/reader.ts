/**
 * One read cycle over a link: every block of the plan, decoded per signal. A block the
 * unit refuses with exception 2 (illegal data address) is read one signal at a time from
 * then on, so one bad address blinds only its own signal.
 */
import { decode, decodeAt, span, type Decoded, type RawData } from './decode.js';
import { errorText, modbusCode, type ModbusLink } from './link.js';
import type { ModbusSignal, ReadBlock, ReadPlan } from './plan.js';

export interface SignalResult {
  signal: ModbusSignal;
  /** What was read for this signal (span(source) words or bits). */
  data?: RawData;
  value?: number | boolean;
  error?: string;
}

export interface CycleResult {
  results: SignalResult[];
  /** Set when the unit stopped answering; results are then incomplete. */
  lost?: string;
}

const ILLEGAL_ADDRESS = 2;
/** Gateway path unavailable / target failed to respond: the unit behind a gateway is gone. */
const UNREACHABLE = new Set([10, 11]);

type Outcome = { data: RawData } | { error: string } | { lost: string };

async function request(link: ModbusLink, area: ReadBlock['area'], start: number, count: number): Promise<Outcome & { code?: number }> {
  try {
    return { data: await link.read(area, start, count) };
  } catch (err) {
    const code = modbusCode(err);
    if (code === undefined || UNREACHABLE.has(code)) return { lost: errorText(err) };
    return { error: errorText(err), code };
  }
}

function result(signal: ModbusSignal, data: RawData, decoded: Decoded): SignalResult {
  return decoded.ok ? { signal, data, value: decoded.value } : { signal, data, error: decoded.error };
}

/** `split` remembers, across cycles, the blocks to read one signal at a time. */
export async function readCycle(link: ModbusLink, plan: ReadPlan, split: Set<ReadBlock>): Promise<CycleResult> {
  const results: SignalResult[] = plan.rejected.map((signal) => ({ signal, error: 'runs past the last address (65535)' }));
  for (const block of plan.blocks) {
    if (!split.has(block)) {
      const out = await request(link, block.area, block.start, block.count);
      if ('lost' in out) return { results, lost: out.lost };
      if ('data' in out) {
        for (const s of block.signals) {
          const at = s.source.address - block.start;
          // Decoded in place in the block; the slice is the signal's raw words for display.
          results.push(result(s, out.data.slice(at, at + span(s.source)), decodeAt(s.source, out.data, at)));
        }
        continue;
      }
      if (out.code !== ILLEGAL_ADDRESS || block.signals.length === 1) {
        for (const signal of block.signals) results.push({ signal, error: out.error });
        continue;
      }
      split.add(block);
    }
    for (const signal of block.signals) {
      const out = await request(link, block.area, signal.source.address, span(signal.source));
      if ('lost' in out) return { results, lost: out.lost };
      results.push('data' in out ? result(signal, out.data, decode(signal.source, out.data)) : { signal, error: out.error });
    }
  }
  return { results };
}
