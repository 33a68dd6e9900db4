/**
 * One read cycle over a link: every block of the plan, decoded per signal. A block the
 * unit refuses with exception 2 (illegal data address) is read one signal at a time from
 * then on, so one bad address blinds only its own signal.
 */
import { decode, decodeAt, span, type Decoded, type RawData } from './decode.js';
import { errorText, modbusCode, type ModbusLink } from './link.js';
import type { ModbusSignal, ReadBlock, ReadPlan } from './plan.js';

/**
 * Told each signal's outcome as its block comes in, in plan order. A signal's raw words or
 * bits are `data.slice(from, to)`: `data` is the whole block's answer, shared by its
 * signals, so that a poll copies nothing per signal (bench/polling.bench.ts).
 */
export interface CycleSink {
  value(signal: ModbusSignal, value: number | boolean, data: RawData, from: number, to: number): void;
  /** `data` is there when the unit answered but the value is bad. */
  error(signal: ModbusSignal, message: string, data?: RawData, from?: number, to?: number): void;
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

function tell(sink: CycleSink, signal: ModbusSignal, decoded: Decoded, data: RawData, from: number, to: number): void {
  if (decoded.ok) sink.value(signal, decoded.value, data, from, to);
  else sink.error(signal, decoded.error, data, from, to);
}

/**
 * `split` remembers, across cycles, the blocks to read one signal at a time. Returns why the
 * unit was lost (it stopped answering), after which the sink heard only part of the plan.
 */
export async function readCycle(link: ModbusLink, plan: ReadPlan, split: Set<ReadBlock>, sink: CycleSink): Promise<string | undefined> {
  for (const signal of plan.rejected) sink.error(signal, 'runs past the last address (65535)');
  for (const block of plan.blocks) {
    if (!split.has(block)) {
      const out = await request(link, block.area, block.start, block.count);
      if ('lost' in out) return out.lost;
      if ('data' in out) {
        for (const s of block.signals) {
          const at = s.source.address - block.start;
          tell(sink, s, decodeAt(s.source, out.data, at), out.data, at, at + span(s.source));
        }
        continue;
      }
      if (out.code !== ILLEGAL_ADDRESS || block.signals.length === 1) {
        for (const signal of block.signals) sink.error(signal, out.error);
        continue;
      }
      split.add(block);
    }
    for (const signal of block.signals) {
      const out = await request(link, block.area, signal.source.address, span(signal.source));
      if ('lost' in out) return out.lost;
      if ('data' in out) tell(sink, signal, decode(signal.source, out.data), out.data, 0, out.data.length);
      else sink.error(signal, out.error);
    }
  }
  return undefined;
}
