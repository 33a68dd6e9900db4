/**
 * The incrementality guard (docs/guard.md): turns a PLC counter that resets, wraps and glitches
 * into a delivered total that only grows by what the machine really produced.
 * Pure: state in, state out. The caller persists the state in the same transaction as
 * the outbox, so a crash never separates "counted" from "queued".
 */

export interface GuardOptions {
  /** Modulus at which the raw counter wraps; undefined = it never wraps (a fall is a reset). */
  rollover?: number;
  /** A move larger than this is held until the next read confirms it. */
  maxJump?: number;
}

export interface GuardState {
  /** Last raw value taken into account. */
  lastRaw: number;
  /** Monotonic total: what the MES should show. */
  total: number;
  /** A suspect raw value waiting for confirmation by the next read. */
  held?: number;
}

export type GuardEvent = 'init' | 'same' | 'rise' | 'wrap' | 'reset' | 'held' | 'glitch';

export interface GuardStep {
  state: GuardState;
  /** What was added to the total by this read (≥ 0). */
  added: number;
  event: GuardEvent;
}

/** First sight of a counter: the total starts at the raw value (or 0), nothing to send. */
export function initGuard(raw: number, initialCount: 'raw' | 'zero'): GuardState {
  return { lastRaw: raw, total: initialCount === 'zero' ? 0 : Math.max(0, raw) };
}

/**
 * A fall counts as a wrap when the production it implies (raw + M − prev) is small
 * against the modulus: at most maxJump, or a tenth of the range without one. A fall
 * from the middle of the range is a reset, which adds what was counted since (raw).
 */
function classifyFall(prev: number, raw: number, opts: GuardOptions): { event: 'wrap' | 'reset'; added: number } {
  const m = opts.rollover;
  if (m !== undefined) {
    const wrapped = raw + m - prev;
    if (wrapped > 0 && wrapped <= (opts.maxJump ?? m / 10)) return { event: 'wrap', added: wrapped };
  }
  return { event: 'reset', added: Math.max(0, raw) };
}

/** Is a move from prev to raw large enough to be suspect? Only with maxJump set. */
function suspect(prev: number, raw: number, opts: GuardOptions): boolean {
  if (opts.maxJump === undefined) return false;
  if (raw > prev) return raw - prev > opts.maxJump;
  // A fall that is not a plausible wrap may be a bad read of 0: holding it avoids
  // counting the whole counter again when the true value comes back.
  return classifyFall(prev, raw, opts).event === 'reset';
}

function advance(state: GuardState, raw: number, opts: GuardOptions): GuardStep {
  const prev = state.lastRaw;
  if (raw === prev) return { state: { lastRaw: raw, total: state.total }, added: 0, event: 'same' };
  if (raw > prev) {
    const added = raw - prev;
    return { state: { lastRaw: raw, total: state.total + added }, added, event: 'rise' };
  }
  const fall = classifyFall(prev, raw, opts);
  return { state: { lastRaw: raw, total: state.total + fall.added }, added: fall.added, event: fall.event };
}

/** Whether a read confirms the held suspect value: it stayed there, or moved on by a plausible amount. */
function confirms(held: number, raw: number, opts: GuardOptions): boolean {
  if (raw === held) return true;
  if (raw > held) return raw - held <= (opts.maxJump ?? Infinity);
  return false;
}

export function stepGuard(state: GuardState, raw: number, opts: GuardOptions): GuardStep {
  if (!Number.isFinite(raw)) throw new Error(`counter value ${raw} is not a finite number`);
  if (state.held !== undefined) {
    const base: GuardState = { lastRaw: state.lastRaw, total: state.total };
    if (confirms(state.held, raw, opts)) {
      // The jump was real: account for it (prev → held), then for the move since (held → raw).
      const jump = advance(base, state.held, opts);
      const since = advance(jump.state, raw, opts);
      return { state: since.state, added: jump.added + since.added, event: jump.event };
    }
    // Not confirmed: the held value was a glitch; judge this read against the last good one.
    return { ...stepGuard(base, raw, opts), event: 'glitch' };
  }
  if (raw !== state.lastRaw && suspect(state.lastRaw, raw, opts)) {
    return { state: { ...state, held: raw }, added: 0, event: 'held' };
  }
  return advance(state, raw, opts);
}

/** The default rollover modulus for a source type, when `counterRollover` is not set. */
export function defaultRollover(type: string | undefined): number | undefined {
  switch (type) {
    case 'uint16':
    case 'int16':
      return 2 ** 16;
    case 'uint32':
    case 'int32':
      return 2 ** 32;
    default:
      return undefined;
  }
}
