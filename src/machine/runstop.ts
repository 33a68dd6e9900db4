/**
 * Run/stop state of a machine (docs/delivery.md#runstop-transitions): what the PLC says (running signal, stop reason)
 * or what the counter implies (stopWhenIdleSeconds), debounced by minStateSeconds, turned
 * into the ordered transitions the MES startstop endpoint wants. Pure.
 */

export interface RunStopOptions {
  /** Downtime type per stop reason value (keys are the value as text). */
  reasonMap: Record<string, string>;
  /** Type when the reason is unknown or absent: stopReason.default, else downtimeType. */
  fallbackType: string;
  /** Type of a stop inferred from an idle counter: downtimeType, else the fallback. */
  idleType: string;
  minStateMs: number;
  idleMs?: number;
}

interface Observed {
  running: boolean;
  type?: string;
}

export interface RunStopState {
  /** What was last emitted (or taken as the starting point); undefined before the first observation. */
  reported?: Observed & { since: number };
  /** A different state being debounced. */
  candidate?: Observed & { since: number };
  /** When the count last moved, for idle inference. */
  lastCountMoveAt?: number;
}

export interface Transition {
  running: 0 | 1;
  /** The downtime type: of the stop that begins, or of the stop that a run ends. */
  type: string;
  at: number;
}

export interface RunStopInput {
  at: number;
  /** Present when the machine has a running signal and it was read. */
  running?: boolean;
  /** The raw stop reason value, when read. */
  reason?: number | string | boolean;
  /** True when the count moved in this read. */
  countMoved?: boolean;
}

export function reasonType(reason: RunStopInput['reason'], opts: RunStopOptions): string {
  if (reason === undefined) return opts.fallbackType;
  return opts.reasonMap[String(typeof reason === 'boolean' ? Number(reason) : reason)] ?? opts.fallbackType;
}

function observe(state: RunStopState, input: RunStopInput, opts: RunStopOptions, hasRunningSignal: boolean): Observed | undefined {
  const idle = opts.idleMs !== undefined && state.lastCountMoveAt !== undefined && input.at - state.lastCountMoveAt >= opts.idleMs;
  if (hasRunningSignal) {
    if (input.running === undefined) return undefined;
    if (!input.running) return { running: false, type: reasonType(input.reason, opts) };
    return idle ? { running: false, type: opts.idleType } : { running: true };
  }
  if (opts.idleMs === undefined || state.lastCountMoveAt === undefined) return undefined;
  return idle ? { running: false, type: opts.idleType } : { running: true };
}

const same = (a: Observed, b: Observed) => a.running === b.running;

/**
 * Feeds one observation (or a timer tick with no values). Returns the new state and the
 * transitions to send, in order. A first observation of "running" is taken as the
 * starting point without a transition; a first "stopped" opens a downtime.
 */
export function stepRunStop(
  state: RunStopState,
  input: RunStopInput,
  opts: RunStopOptions,
  hasRunningSignal: boolean,
): { state: RunStopState; transitions: Transition[] } {
  const next: RunStopState = { ...state };
  if (input.countMoved || (next.lastCountMoveAt === undefined && opts.idleMs !== undefined)) next.lastCountMoveAt = input.at;
  const seen = observe(next, input, opts, hasRunningSignal);
  // No fresh value (a tick, or the signal failed to read): keep debouncing what we had.
  const current = seen ?? next.candidate ?? next.reported;
  if (!current) return { state: next, transitions: [] };

  if (!next.reported) {
    next.reported = { ...current, since: input.at };
    return { state: next, transitions: current.running ? [] : [{ running: 0, type: current.type ?? opts.fallbackType, at: input.at }] };
  }
  if (same(current, next.reported)) {
    next.candidate = undefined;
    return { state: next, transitions: [] };
  }
  if (!next.candidate || !same(next.candidate, current)) next.candidate = { ...current, since: input.at };
  else if (seen && !seen.running) next.candidate = { ...next.candidate, type: seen.type };
  if (input.at - next.candidate.since < opts.minStateMs) return { state: next, transitions: [] };

  const began = next.candidate;
  const ended = next.reported;
  const transition: Transition = began.running
    ? { running: 1, type: ended.type ?? opts.fallbackType, at: began.since }
    : { running: 0, type: began.type ?? opts.fallbackType, at: began.since };
  next.reported = { running: began.running, type: began.running ? undefined : began.type, since: began.since };
  next.candidate = undefined;
  return { state: next, transitions: [transition] };
}
