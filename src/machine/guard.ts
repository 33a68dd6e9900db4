/**
 * The incrementality guard (docs/guard.md): turns a PLC counter that resets, wraps and glitches
 * into a delivered total that only grows by what the machine really produced.
 * Pure: (state, raw, at, options) → step. The caller persists the state in the same
 * transaction as the outbox, so a crash never separates "counted" from "queued".
 *
 * Every decision is a plausibility question: could the machine have made this many parts
 * since the last good read, at its observed rate? A wrong "wrap" or an accepted glitch
 * invents parts the MES can never take back; a wrong "reset" undercounts by at most what
 * was counted since. So where the guard cannot tell, it picks the error that invents nothing.
 */

export interface GuardOptions {
  /** Modulus at which the raw counter wraps; undefined = it never wraps (a fall is a reset). */
  rollover?: number;
  /** A move larger than this is held until a later read confirms it. */
  maxJump?: number;
}

/**
 * Why a value is held: `fall` a drop that is no plausible wrap (a reset, or a bad read of
 * 0); `jump` a rise the observed rate cannot explain (a bad or torn read, or a preset);
 * `rise` a rise that is production once confirmed: above `maxCountJump` but allowed by the
 * rate, or large while no rate is known yet.
 */
type HeldKind = 'fall' | 'jump' | 'rise';

export interface HeldValue {
  kind: HeldKind;
  /** The suspect value as first read. */
  first: number;
  /** When it was first read (epoch ms). */
  since: number;
  /** The latest read consistent with it (equal, or moved up from it). */
  raw: number;
  at: number;
  /** How many consistent reads, the first included. */
  reads: number;
}

export interface GuardState {
  /** Last raw value taken into account. */
  lastRaw: number;
  /** Monotonic total: what the MES should show. */
  total: number;
  /** When lastRaw was last read (epoch ms): the start of the time a move may have taken. */
  seenAt: number;
  /** When lastRaw last changed: the interval of a rise, for the rate. */
  changedAt: number;
  /** Observed production rate in parts/s (undefined until the first rise). */
  rate?: number;
  /** A suspect value waiting for confirmation. */
  held?: HeldValue;
}

type GuardEvent = 'init' | 'same' | 'rise' | 'wrap' | 'reset' | 'held' | 'glitch' | 'rebaseline';

export interface GuardStep {
  state: GuardState;
  /** What was added to the total by this read (≥ 0). */
  added: number;
  event: GuardEvent;
}

/**
 * A rise may imply up to RISE_FACTOR times the observed rate plus RISE_FLOOR parts: a slow
 * or fresh counter, or scrap booked in a batch, is not held; a bad or torn read (0, 65535,
 * a word off by 65536) is far beyond it.
 */
const RISE_FACTOR = 10;
const RISE_FLOOR = 100;
/** A wrap is accepted at once and invents parts if wrong, so it gets tighter bounds. */
const WRAP_FACTOR = 3;
const WRAP_FLOOR = 20;
/** The rate assumed while none is known or the known one is lower (parts/s). */
const MIN_RATE = 2;
/** Consistent reads after which a held value is resolved, even if the counter stands still. */
export const HOLD_READS = 5;
/** Intervals shorter than this count as this long (MQTT bursts, same-ms reads). */
const MIN_INTERVAL_MS = 1000;
/** How fast the rate estimate follows a slower machine; a faster one is taken at once. */
const RATE_DECAY = 0.8;

/** First sight of a counter: the total starts at the raw value (or 0), nothing to send. */
export function initGuard(raw: number, initialCount: 'raw' | 'zero', at: number): GuardState {
  return { lastRaw: raw, total: initialCount === 'zero' ? 0 : Math.max(0, raw), seenAt: at, changedAt: at };
}

/**
 * The most parts the machine can plausibly have made in `ms`, with a given factor. Reads
 * closer than MIN_INTERVAL_MS (MQTT messages queued during an outage arrive together)
 * count as that far apart: their time of arrival is not their time of production.
 */
function allowance(state: GuardState, ms: number, factor: number, floor: number): number {
  return floor + factor * Math.max(state.rate ?? 0, MIN_RATE) * (Math.max(ms, MIN_INTERVAL_MS) / 1000);
}

function riseIsPlausible(state: GuardState, parts: number, ms: number): boolean {
  return parts <= allowance(state, ms, RISE_FACTOR, RISE_FLOOR);
}

/**
 * The production a fall from prev to raw implies if it is a wrap, when that is plausible:
 * against the rate and maxJump, and — while no rate is known — at most a tenth of the range.
 */
function plausibleWrap(state: GuardState, prev: number, raw: number, ms: number, opts: GuardOptions): number | undefined {
  const m = opts.rollover;
  if (m === undefined) return undefined;
  const wrapped = raw + m - prev;
  if (wrapped <= 0 || wrapped > allowance(state, ms, WRAP_FACTOR, WRAP_FLOOR)) return undefined;
  if (opts.maxJump !== undefined && wrapped > opts.maxJump) return undefined;
  if (state.rate === undefined && wrapped > m / 10) return undefined;
  return wrapped;
}

function learnRate(rate: number | undefined, parts: number, ms: number): number {
  const r = parts / (Math.max(ms, MIN_INTERVAL_MS) / 1000);
  return rate === undefined ? r : Math.max(r, RATE_DECAY * rate + (1 - RATE_DECAY) * r);
}

/** Takes `added` parts and moves the baseline to raw. */
function count(state: GuardState, raw: number, at: number, added: number, event: GuardEvent): GuardStep {
  const rate = added > 0 && event !== 'reset' ? learnRate(state.rate, added, at - state.changedAt) : state.rate;
  const next: GuardState = { lastRaw: raw, total: state.total + added, seenAt: at, changedAt: raw === state.lastRaw ? state.changedAt : at };
  if (rate !== undefined) next.rate = rate;
  return { state: next, added, event };
}

function hold(state: GuardState, kind: HeldKind, raw: number, at: number): GuardStep {
  return { state: { ...state, held: { kind, first: raw, since: at, raw, at, reads: 1 } }, added: 0, event: 'held' };
}

/** Judges a move from the last good value (no value held). */
function judge(state: GuardState, raw: number, at: number, opts: GuardOptions): GuardStep {
  const prev = state.lastRaw;
  const ms = at - state.seenAt;
  if (raw === prev) return { state: { ...state, held: undefined, seenAt: at }, added: 0, event: 'same' };
  if (raw > prev) {
    if (!riseIsPlausible(state, raw - prev, ms)) return hold(state, state.rate === undefined ? 'rise' : 'jump', raw, at);
    if (opts.maxJump !== undefined && raw - prev > opts.maxJump) return hold(state, 'rise', raw, at);
    return count(state, raw, at, raw - prev, 'rise');
  }
  const wrapped = plausibleWrap(state, prev, raw, ms, opts);
  if (wrapped !== undefined) return count(state, raw, at, wrapped, 'wrap');
  // Not a wrap: a reset, or a bad read (0, a torn word). Only a later read can tell.
  return hold(state, 'fall', raw, at);
}

/** A held value confirmed (it moved on plausibly) or persistent (HOLD_READS reads): settle it at raw. */
function resolve(state: GuardState, held: HeldValue, raw: number, at: number): GuardStep {
  const base: GuardState = { ...state, held: undefined };
  switch (held.kind) {
    case 'rise':
      // Nothing known says the machine cannot have made it; only its size made it suspect.
      return count(base, raw, at, raw - state.lastRaw, 'rise');
    case 'fall':
      // A reset adds what was counted since — if the machine could have made that many since
      // the last good read. A fall to a mid-range value is a preset: counting resumes there.
      return riseIsPlausible(state, raw, at - state.seenAt) ? count(base, raw, at, raw, 'reset') : count(base, raw, at, 0, 'rebaseline');
    case 'jump':
      // The jump itself is no production (a preset, or a value the rate cannot explain);
      // what the counter moved since is, and its pace is the rate (a faster machine).
      return count({ ...base, changedAt: held.since }, raw, at, Math.max(0, raw - held.first), 'rebaseline');
  }
}

function stepHeld(state: GuardState, held: HeldValue, raw: number, at: number, opts: GuardOptions): GuardStep {
  // Back near the last good value: the held one was a bad read.
  const fromLast = judge({ ...state, held: undefined }, raw, at, opts);
  if (fromLast.event !== 'held') return { ...fromLast, event: 'glitch' };
  if (raw >= held.raw) {
    const moved = raw > held.raw && riseIsPlausible(state, raw - held.raw, at - held.at);
    const next: HeldValue = { ...held, raw, at, reads: held.reads + 1 };
    if (moved || next.reads >= HOLD_READS) return resolve(state, next, raw, at);
    return { state: { ...state, held: next }, added: 0, event: 'held' };
  }
  // Neither near the last good value nor consistent with the held one: a new suspect.
  return fromLast;
}

export function stepGuard(state: GuardState, raw: number, at: number, opts: GuardOptions): GuardStep {
  if (!Number.isFinite(raw)) throw new Error(`counter value ${raw} is not a finite number`);
  return state.held ? stepHeld(state, state.held, raw, at, opts) : judge(state, raw, at, opts);
}
