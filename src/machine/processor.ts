/**
 * Applies readings to machine state: the guard for count and waste, run/stop, parameter
 * deadband. Everything one batch changes (state and outbox rows) is written in one
 * SQLite transaction, so a crash leaves either the old state with nothing queued or the
 * new state with its deliveries queued — never a count that is neither.
 */
import type { Db } from '../outbox/db.js';
import type { MachineStateStore } from '../outbox/machine-state.js';
import type { Outbox } from '../outbox/outbox.js';
import type { MachineConfig } from '../config/schema.js';
import type { Reading, SignalValue } from '../adapters/types.js';
import { initGuard, stepGuard, type GuardOptions } from './guard.js';
import { stepRunStop, type RunStopOptions, type RunStopInput, type RunStopState } from './runstop.js';
import { parameterChanged } from './parameters.js';
import { checkCountValue, counterRollover } from './count-value.js';

/**
 * An unchanged counter read is written only this often: the guard measures the time a move
 * took from the last read, and a few seconds' slack in that is far below any bound it uses.
 * It is kept in memory meanwhile (the guard here uses it at once) and written with the next
 * commit that writes anyway, or by `tick` once it is this old: a poll that changed nothing
 * writes nothing (docs/delivery.md#writes-per-request).
 */
const SEEN_PERSIST_MS = 10_000;

/** A reading refused before it reached any state (e.g. a count of -5 or 112.5). */
export interface BadValue {
  machine: string;
  signal: string;
  message: string;
  at: number;
}

export interface MachineBinding {
  device: string;
  config: MachineConfig;
}

export interface ProcessorEvents {
  /** A notable guard decision (reset, wrap, held glitch) or a run/stop transition. */
  event(machine: string, message: string, fields: Record<string, unknown>): void;
}

interface Prepared {
  device: string;
  config: MachineConfig;
  guard: Record<string, GuardOptions>;
  /** Per counter signal, what it is read from: a change means a new baseline, not production. */
  sourceKey: Record<string, string>;
  runStop?: { opts: RunStopOptions; hasRunningSignal: boolean };
  deadband: Record<string, number>;
}

function prepare(b: MachineBinding): Prepared {
  const m = b.config;
  const guardFor = (source: unknown): GuardOptions => ({
    rollover: counterRollover(m, source),
    maxJump: m.maxCountJump,
  });
  const guard: Record<string, GuardOptions> = {};
  const sourceKey: Record<string, string> = {};
  const counter = (signal: string, source: unknown) => {
    guard[signal] = guardFor(source);
    sourceKey[signal] = JSON.stringify(source);
  };
  if (m.count) counter('count', m.count);
  for (const w of m.waste) counter(`waste:${w.code}`, w.source);
  const tracks = m.running !== undefined || m.stopWhenIdleSeconds !== undefined;
  const fallbackType = m.stopReason?.default ?? m.downtimeType ?? 'Unplanned';
  return {
    device: b.device,
    config: m,
    guard,
    sourceKey,
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

function truthy(v: SignalValue): boolean {
  if (typeof v === 'string') return !['', '0', 'false', 'off', 'stop', 'stopped'].includes(v.trim().toLowerCase());
  return Boolean(v);
}

export class MachineProcessor {
  private machines = new Map<string, Prepared>();
  private readonly runStates = new Map<string, RunStopState>();
  private readonly lastValues = new Map<string, Map<string, { value: SignalValue; at: number }>>();
  /** Events of the transaction being written, told only once it commits. */
  private unwritten: Parameters<ProcessorEvents['event']>[] = [];
  /** Unchanged counter reads not written yet, by `machine signal`: the seen time, and since when it waits. */
  private readonly seen = new Map<string, { machine: string; signal: string; at: number; since: number }>();
  private readonly totalChanges;

  constructor(
    private readonly db: Db,
    private readonly state: MachineStateStore,
    private readonly outbox: Outbox,
    private readonly events: ProcessorEvents = { event: () => {} },
  ) {
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
  }

  /** Sets the machines to process (at start and on config reload). State of kept machines carries on. */
  setMachines(bindings: MachineBinding[]): void {
    this.machines = new Map(bindings.map((b) => [b.config.code, prepare(b)]));
  }

  machineCodes(): string[] {
    return [...this.machines.keys()];
  }

  binding(code: string): MachineBinding | undefined {
    const p = this.machines.get(code);
    return p && { device: p.device, config: p.config };
  }

  values(machine: string): Record<string, { value: SignalValue; at: number }> {
    return Object.fromEntries(this.lastValues.get(machine) ?? []);
  }

  runState(machine: string): RunStopState | undefined {
    return this.runStates.get(machine) ?? this.state.runState(machine);
  }

  /** Returns the readings refused as bad values, for the caller to count and show. */
  apply(batch: Reading[], now: number): BadValue[] {
    const byMachine = new Map<string, Reading[]>();
    const bad: BadValue[] = [];
    for (const reading of batch) {
      const m = this.machines.get(reading.machine);
      if (!m) continue;
      const r = this.checked(m, reading);
      if ('message' in r) {
        bad.push(r);
        continue;
      }
      (byMachine.get(r.machine) ?? byMachine.set(r.machine, []).get(r.machine)!).push(r);
      const values = this.lastValues.get(r.machine) ?? this.lastValues.set(r.machine, new Map()).get(r.machine)!;
      values.set(r.signal, { value: r.value, at: r.at });
    }
    this.write((staged) => {
      for (const [code, readings] of byMachine) this.applyMachine(this.machines.get(code)!, readings, now, staged);
    });
    return bad;
  }

  /** A count or waste value the guard may see, with float noise of a scale rounded off. */
  private checked(m: Prepared, r: Reading): Reading | BadValue {
    const opts = m.guard[r.signal];
    if (!opts) return r;
    const v = checkCountValue(r.value, opts.rollover);
    return v.ok ? { ...r, value: v.value } : { machine: r.machine, signal: r.signal, message: v.error, at: r.at };
  }

  /**
   * Time-driven run/stop decisions (debounce expiry, idle counter) when no reading arrives.
   * `live(device)`: whether the device's last values still hold (it is connected); a
   * subscription sends only changes, so a quiet "running" is still running.
   */
  tick(now: number, live: (device: string) => boolean = () => false): void {
    this.write((staged) => {
      for (const m of this.machines.values()) {
        if (m.runStop) this.stepRunStop(m, live(m.device) ? this.lastKnown(m.config.code, now) : { at: now }, now, staged);
      }
    }, now - SEEN_PERSIST_MS);
  }

  /**
   * One IMMEDIATE transaction. Run/stop state reaches memory only after the commit: were
   * the transaction rolled back, its transitions would otherwise never be produced again.
   * Its events likewise: a stop that a full disk could not store is logged when it is stored.
   */
  private write(fn: (staged: Map<string, RunStopState>) => void, seenDueBefore = -Infinity): void {
    const staged = new Map<string, RunStopState>();
    this.unwritten = [];
    this.db.transaction(() => {
      const changes = this.totalChanges.get();
      fn(staged);
      const due = this.totalChanges.get() !== changes || [...this.seen.values()].some((s) => s.since <= seenDueBefore);
      if (due) this.writeSeen();
    }).immediate();
    for (const [code, state] of staged) this.runStates.set(code, state);
    for (const e of this.unwritten.splice(0)) this.events.event(...e);
  }

  /** Inside the transaction. Should it roll back, they are lost: the guard measures from the older seen time, slack it tolerates. */
  private writeSeen(): void {
    for (const s of this.seen.values()) this.state.markSeen(s.machine, s.signal, s.at);
    this.seen.clear();
  }

  private event(...e: Parameters<ProcessorEvents['event']>): void {
    this.unwritten.push(e);
  }

  /** The run/stop signals as last read, for batches and ticks that do not carry them. */
  private lastKnown(code: string, at: number): RunStopInput {
    const values = this.lastValues.get(code);
    const running = values?.get('running');
    const reason = values?.get('stopReason');
    return { at, running: running && truthy(running.value), reason: reason?.value };
  }

  private applyMachine(m: Prepared, readings: Reading[], now: number, staged: Map<string, RunStopState>): void {
    const code = m.config.code;
    let countMoved = false;
    const input: RunStopInput = this.lastKnown(code, now);
    for (const r of readings) {
      if (r.signal === 'count' || r.signal.startsWith('waste:')) {
        const added = this.applyCounter(m, r);
        if (r.signal === 'count' && added > 0) countMoved = true;
      } else if (r.signal.startsWith('param:')) {
        const pcode = r.signal.slice('param:'.length);
        if (!parameterChanged(this.state.lastParameter(code, pcode), r.value, m.deadband[pcode] ?? 0)) continue;
        this.state.putParameter(code, pcode, r.value);
        this.outbox.enqueueParameter(code, pcode, r.value, now);
      }
    }
    if (m.runStop) this.stepRunStop(m, { ...input, countMoved }, now, staged);
  }

  /** Returns what the guard added to the total. */
  private applyCounter(m: Prepared, r: Reading): number {
    const code = m.config.code;
    const opts = m.guard[r.signal];
    if (!opts || typeof r.value !== 'number') return 0;
    const key = `${code} ${r.signal}`;
    const stored = this.state.counter(code, r.signal);
    const seen = this.seen.get(key);
    const row = stored && seen ? { ...stored, seenAt: Math.max(stored.seenAt, seen.at) } : stored;
    // Whatever else this read does than `same` writes the row, seen time included.
    this.seen.delete(key);
    const source = m.sourceKey[r.signal];
    if (!row) {
      const init = initGuard(r.value, m.config.initialCount, r.at);
      this.state.insertCounter(code, r.signal, init, source, r.at);
      this.event(code, 'counter first seen', { signal: r.signal, raw: r.value, total: init.total });
      return 0;
    }
    if (row.source !== source) {
      // Another register, node or topic (a config edit): comparing its value with the old
      // one's would invent or lose production. The total stays; counting resumes from here.
      this.state.rebaseline(code, r.signal, r.value, source, r.at);
      if (row.source !== undefined) this.event(code, 'counter source changed; counting from its current value', { signal: r.signal, raw: r.value, total: row.total });
      return 0;
    }
    if (r.redelivered && r.value < row.lastRaw) {
      // A transport's resend of a value older than the last one taken (MQTT DUP after a broker
      // restart): counted already, and no reset. A real reset still shows in the next fresh read.
      this.event(code, 'counter replay ignored', { event: 'counter.replay', signal: r.signal, raw: r.value, lastRaw: row.lastRaw });
      return 0;
    }
    const step = stepGuard(row, r.value, r.at, opts);
    if (step.event === 'same') {
      // The guard sees the seen time it always saw (moved every SEEN_PERSIST_MS); only its write waits.
      if (r.at - row.seenAt >= SEEN_PERSIST_MS) this.seen.set(key, { machine: code, signal: r.signal, at: r.at, since: seen?.since ?? r.at });
      else if (seen) this.seen.set(key, seen);
      return 0;
    }
    this.state.updateGuard(code, r.signal, step.state, r.at);
    if (step.event !== 'rise') {
      this.event(code, `counter ${step.event}`, {
        event: `counter.${step.event}`,
        signal: r.signal,
        previousRaw: row.lastRaw,
        raw: r.value,
        added: step.added,
        total: step.state.total,
        held: step.state.held?.raw,
      });
    }
    return step.added;
  }

  private stepRunStop(m: Prepared, input: RunStopInput, now: number, staged: Map<string, RunStopState>): void {
    const code = m.config.code;
    const before = staged.get(code) ?? this.runState(code) ?? {};
    const { state, transitions } = stepRunStop(before, input, m.runStop!.opts, m.runStop!.hasRunningSignal);
    staged.set(code, state);
    if (JSON.stringify(state) !== JSON.stringify(before)) this.state.putRunState(code, state);
    for (const t of transitions) {
      this.outbox.enqueueStartStop(code, t, now);
      this.event(code, t.running ? 'machine running' : 'machine stopped', { type: t.type, at: t.at });
    }
  }
}
