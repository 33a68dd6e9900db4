/**
 * One machine's step: stored state + readings (or a timer tick) + its rules + now → the
 * writes to make and the events to tell; before it, checkReadings sorts out the bad values.
 * Every decision of the machine layer is taken here — count value check, guard, MQTT
 * replay, source change, SEEN_PERSIST_MS throttling, parameter deadband, run/stop — and
 * nothing else: no storage, no clock, no logger. The processor checks, loads, steps, writes
 * in one transaction, then tells.
 */
import type { Reading, SignalValue } from '../core/values.js';
import type { MachineConfig } from '../config/schema.js';
import { checkCountValue } from './count-value.js';
import { initGuard, stepGuard, type GuardOptions } from './guard.js';
import { parameterChanged } from './parameters.js';
import { stepRunStop, type RunStopInput, type RunStopOptions } from './runstop.js';
import type { CounterState, MachineOperation, StoredMachine } from './store.js';

/**
 * An unchanged counter read is written only this often: the guard measures the time a move
 * took from the last read, and a few seconds' slack in that is far below any bound it uses.
 */
export const SEEN_PERSIST_MS = 10_000;

/** A reading refused before it reached any state (e.g. a count of -5 or 112.5). */
export interface BadValue {
  machine: string;
  signal: string;
  message: string;
  at: number;
}

/** A notable decision (first sight, source change, reset, wrap, held glitch, replay) or a run/stop transition. */
export interface MachineEvent {
  machine: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface TimedValue {
  value: SignalValue;
  at: number;
}

/** What a step starts from: the stored state, and the values last read (kept in memory only). */
export interface MachineSnapshot extends StoredMachine {
  values: Record<string, TimedValue>;
}

export interface StepResult {
  /** The writes, in order: the next state (the parts that changed) and what is queued for the MES. */
  operations: MachineOperation[];
  /** To tell once the operations are stored. */
  events: MachineEvent[];
}

interface CounterRules {
  /** What it is read from: a change means a new baseline, not production. */
  source: string;
}

/** A machine's configuration in the form the step uses, prepared once per configuration. */
export interface MachineRules {
  code: string;
  initialCount: MachineConfig['initialCount'];
  /** Where every counter of the machine wraps, when set; else each reading's own `rollover`. */
  counterRollover?: number;
  maxJump?: number;
  /** By counter signal (`count`, `waste:<code>`). */
  counters: Record<string, CounterRules>;
  runStop?: { opts: RunStopOptions; hasRunningSignal: boolean };
  /** By parameter code. */
  deadband: Record<string, number>;
}

export function machineRules(m: MachineConfig): MachineRules {
  const counters: Record<string, CounterRules> = {};
  const counter = (signal: string, source: unknown) => {
    counters[signal] = { source: JSON.stringify(source) };
  };
  if (m.count) counter('count', m.count);
  for (const w of m.waste) counter(`waste:${w.code}`, w.source);
  const tracks = m.running !== undefined || m.stopWhenIdleSeconds !== undefined;
  const fallbackType = m.stopReason?.default ?? m.downtimeType ?? 'Unplanned';
  return {
    code: m.code,
    initialCount: m.initialCount,
    counterRollover: m.counterRollover,
    maxJump: m.maxCountJump,
    counters,
    runStop: tracks
      ? {
          hasRunningSignal: m.running !== undefined,
          opts: {
            reasonMap: m.stopReason?.map ?? {},
            fallbackType,
            idleType: m.downtimeType ?? fallbackType,
            minStateMs: m.minStateSeconds * 1000,
            idleMs: m.stopWhenIdleSeconds === undefined ? undefined : m.stopWhenIdleSeconds * 1000,
          },
        }
      : undefined,
    deadband: Object.fromEntries(m.parameters.map((p) => [p.code, p.deadband])),
  };
}

/** The guard's options for a counter reading: the machine's `counterRollover` over the rollover the protocol gave the reading. */
function guardOptions(rules: MachineRules, r: Reading): GuardOptions {
  return { rollover: rules.counterRollover ?? r.rollover, maxJump: rules.maxJump };
}

function truthy(v: SignalValue): boolean {
  if (typeof v === 'string') return !['', '0', 'false', 'off', 'stop', 'stopped'].includes(v.trim().toLowerCase());
  return Boolean(v);
}

/** The run/stop signals as last read, for batches and ticks that do not carry them. */
function lastKnown(values: Record<string, TimedValue>, at: number): RunStopInput {
  const running = values.running;
  return { at, running: running && truthy(running.value), reason: values.stopReason?.value };
}

/** What one step builds up: writes, events, and the counters and parameters as they stand after each reading. */
class Step {
  readonly operations: MachineOperation[] = [];
  readonly events: MachineEvent[] = [];
  readonly counters: Record<string, CounterState>;
  readonly parameters: Record<string, SignalValue>;
  readonly rules: MachineRules;
  readonly snapshot: MachineSnapshot;

  constructor(rules: MachineRules, snapshot: MachineSnapshot) {
    this.rules = rules;
    this.snapshot = snapshot;
    this.counters = { ...snapshot.counters };
    this.parameters = { ...snapshot.parameters };
  }

  event(message: string, fields: Record<string, unknown>): void {
    this.events.push({ machine: this.rules.code, message, fields });
  }

  /** Returns what the guard added to the total. */
  counter(r: Reading & { value: number }): number {
    const machine = this.rules.code;
    const { signal } = r;
    const rules = this.rules.counters[signal];
    const row = this.counters[signal];
    if (!row) {
      const init = initGuard(r.value, this.rules.initialCount, r.at);
      this.operations.push({ kind: 'counter.insert', machine, signal, lastRaw: init.lastRaw, total: init.total, source: rules.source, at: r.at });
      this.counters[signal] = { lastRaw: init.lastRaw, total: init.total, seenAt: r.at, changedAt: r.at, source: rules.source };
      this.event('counter first seen', { event: 'counter.first_seen', signal, raw: r.value, total: init.total });
      return 0;
    }
    if (row.source !== rules.source) {
      // Another register, node or topic (a config edit): comparing its value with the old
      // one's would invent or lose production. The total stays; counting resumes from here.
      this.operations.push({ kind: 'counter.rebaseline', machine, signal, raw: r.value, source: rules.source, at: r.at });
      this.counters[signal] = { lastRaw: r.value, total: row.total, seenAt: r.at, changedAt: r.at, source: rules.source };
      if (row.source !== undefined) {
        this.event('counter source changed; counting from its current value', { event: 'counter.source_changed', signal, raw: r.value, total: row.total });
      }
      return 0;
    }
    if (r.redelivered && r.value < row.lastRaw) {
      // A transport's resend of a value older than the last one taken (MQTT DUP after a broker
      // restart): counted already, and no reset. A real reset still shows in the next fresh read.
      this.event('counter replay ignored', { event: 'counter.replay', signal, raw: r.value, lastRaw: row.lastRaw });
      return 0;
    }
    const step = stepGuard(row, r.value, r.at, guardOptions(this.rules, r));
    if (step.event === 'same') {
      if (r.at - row.seenAt >= SEEN_PERSIST_MS) {
        this.operations.push({ kind: 'counter.seen', machine, signal, at: r.at });
        this.counters[signal] = { ...row, seenAt: Math.max(row.seenAt, r.at) };
      }
      return 0;
    }
    this.operations.push({ kind: 'counter.guard', machine, signal, state: step.state, at: r.at });
    this.counters[signal] = { ...step.state, source: row.source };
    if (step.event !== 'rise') {
      this.event(`counter ${step.event}`, {
        event: `counter.${step.event}`,
        signal,
        previousRaw: row.lastRaw,
        raw: r.value,
        added: step.added,
        total: step.state.total,
        held: step.state.held?.raw,
      });
    }
    return step.added;
  }

  parameter(code: string, value: SignalValue, now: number): void {
    if (!parameterChanged(this.parameters[code], value, this.rules.deadband[code] ?? 0)) return;
    this.parameters[code] = value;
    this.operations.push({ kind: 'parameter', machine: this.rules.code, code, value, at: now });
  }

  runStop(input: RunStopInput, now: number): void {
    const rs = this.rules.runStop;
    if (!rs) return;
    const machine = this.rules.code;
    const before = this.snapshot.runState ?? {};
    const { state, transitions } = stepRunStop(before, input, rs.opts, rs.hasRunningSignal);
    if (JSON.stringify(state) !== JSON.stringify(before)) this.operations.push({ kind: 'runState', machine, state });
    for (const transition of transitions) {
      this.operations.push({ kind: 'startStop', machine, transition, at: now });
      this.event(transition.running ? 'machine running' : 'machine stopped', {
        event: transition.running ? 'machine.running' : 'machine.stopped',
        type: transition.type,
        at: transition.at,
      });
    }
  }

  result(): StepResult {
    return { operations: this.operations, events: this.events };
  }
}

/**
 * What was read, before any state: a count or waste value that is not a whole number in
 * its counter's range is a bad value and goes no further (float noise of a scale is
 * rounded off); `values` are the last values read, the good ones of this batch included —
 * shown on the status page even when the batch cannot be stored.
 */
export function checkReadings(
  values: Readonly<Record<string, TimedValue>>,
  readings: readonly Reading[],
  rules: MachineRules,
): { good: Reading[]; bad: BadValue[]; values: Record<string, TimedValue> } {
  const next = { ...values };
  const bad: BadValue[] = [];
  const good: Reading[] = [];
  for (const r of readings) {
    const counter = rules.counters[r.signal];
    const v = counter ? checkCountValue(r.value, guardOptions(rules, r).rollover) : { ok: true as const, value: r.value };
    if (!v.ok) {
      bad.push({ machine: rules.code, signal: r.signal, message: v.error, at: r.at });
      continue;
    }
    good.push(counter ? { ...r, value: v.value } : r);
    next[r.signal] = { value: v.value, at: r.at };
  }
  return { good, bad, values: next };
}

/**
 * Applies one machine's good readings of a batch (as checkReadings passed them), in order;
 * `snapshot.values` already holds them. No good reading: nothing is decided.
 */
export function stepMachine(snapshot: MachineSnapshot, good: readonly Reading[], rules: MachineRules, now: number): StepResult {
  const step = new Step(rules, snapshot);
  if (good.length === 0) return step.result();
  let countMoved = false;
  for (const r of good) {
    if (rules.counters[r.signal] && typeof r.value === 'number') {
      const added = step.counter(r as Reading & { value: number });
      if (r.signal === 'count' && added > 0) countMoved = true;
    } else if (r.signal.startsWith('param:')) step.parameter(r.signal.slice('param:'.length), r.value, now);
  }
  step.runStop({ ...lastKnown(snapshot.values, now), countMoved }, now);
  return step.result();
}

/**
 * Time-driven run/stop decisions (debounce expiry, idle counter) when no reading arrives.
 * `live`: whether the device's last values still hold (it is connected); a subscription
 * sends only changes, so a quiet "running" is still running.
 */
export function tickMachine(snapshot: MachineSnapshot, rules: MachineRules, now: number, live: boolean): StepResult {
  const step = new Step(rules, snapshot);
  step.runStop(live ? lastKnown(snapshot.values, now) : { at: now }, now);
  return step.result();
}
