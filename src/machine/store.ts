/**
 * What the machine layer needs of storage, and the shapes it reads and writes. The machine
 * layer declares it; `outbox/machine-store.ts` implements it on SQLite, so machine never
 * depends on how or where state is kept.
 */
import type { SignalValue } from '../core/values.js';
import type { GuardState } from './guard.js';
import type { RunStopState, Transition } from './runstop.js';

/** A guarded counter as stored: the guard's state and what the counter is read from. */
export interface CounterState extends GuardState {
  /** What the counter is read from (undefined in state written before this was kept). */
  source?: string;
}

/** The stored state of one machine, as a step starts from it. */
export interface StoredMachine {
  /** By signal (`count`, `waste:<code>`). */
  counters: Record<string, CounterState>;
  runState?: RunStopState;
  /** The last value queued, by parameter code. */
  parameters: Record<string, SignalValue>;
}

/**
 * One write a step decided. The store applies them in order, all in one transaction;
 * each names its machine so a batch of several machines is one list.
 */
export type MachineOperation =
  /** First sight: the starting point counts as delivered, so nothing is sent until it moves. */
  | { kind: 'counter.insert'; machine: string; signal: string; lastRaw: number; total: number; source: string; at: number }
  /** Counting goes on from `raw` of a (new) source, whose rate is yet to be seen; the total is kept. */
  | { kind: 'counter.rebaseline'; machine: string; signal: string; raw: number; source: string; at: number }
  /** The guard's new state; the store refuses a lower total. */
  | { kind: 'counter.guard'; machine: string; signal: string; state: GuardState; at: number }
  /** An unchanged read: only the time it was seen moves on. */
  | { kind: 'counter.seen'; machine: string; signal: string; at: number }
  /** A changed parameter: kept as the last value and queued for the MES. */
  | { kind: 'parameter'; machine: string; code: string; value: SignalValue; at: number }
  | { kind: 'runState'; machine: string; state: RunStopState }
  /** A run/stop transition queued for the MES; `at` is when it was decided. */
  | { kind: 'startStop'; machine: string; transition: Transition; at: number };

export interface MachineStore {
  /**
   * In one IMMEDIATE transaction: loads the stored state of `machines` (a machine never seen
   * has no counters, no run state, no parameters), and writes the operations `decide`
   * returns for it. Anything thrown, by `decide` or by a write, rolls all of it back.
   */
  update(machines: readonly string[], decide: (stored: ReadonlyMap<string, StoredMachine>) => readonly MachineOperation[]): void;
  /** A machine's stored run/stop state, for the status. */
  runState(machine: string): RunStopState | undefined;
}
