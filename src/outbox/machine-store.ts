/**
 * The machine layer's MachineStore on SQLite: its snapshot from counter_state, run_state and
 * param_state, its operations written there and into the outbox, all in one IMMEDIATE
 * transaction.
 */
import type { Db } from './db.js';
import type { MachineStateStore } from './machine-state.js';
import type { Outbox } from './outbox.js';
import type { MachineOperation, MachineStore, StoredMachine } from '../machine/store.js';
import type { RunStopState } from '../machine/runstop.js';

export class SqliteMachineStore implements MachineStore {
  private readonly db: Db;
  private readonly state: MachineStateStore;
  private readonly outbox: Outbox;

  constructor(db: Db, state: MachineStateStore, outbox: Outbox) {
    this.db = db;
    this.state = state;
    this.outbox = outbox;
  }

  update(machines: readonly string[], decide: (stored: ReadonlyMap<string, StoredMachine>) => readonly MachineOperation[]): void {
    this.db
      .transaction(() => {
        for (const op of decide(this.load(machines))) this.write(op);
      })
      .immediate();
  }

  runState(machine: string): RunStopState | undefined {
    return this.state.runState(machine);
  }

  /** The batch's machines in three queries, not three per machine: a batch at 1000 signals holds ~50 machines, the tick all. */
  private load(machines: readonly string[]): Map<string, StoredMachine> {
    const runStates = this.state.runStates(machines);
    const parameters = this.state.parameters(machines);
    const stored = new Map<string, StoredMachine>(
      machines.map((code) => [code, { counters: {}, runState: runStates.get(code), parameters: parameters.get(code) ?? {} }]),
    );
    for (const { machine, signal, lastRaw, total, seenAt, changedAt, rate, held, source } of this.state.countersOf(machines)) {
      stored.get(machine)!.counters[signal] = { lastRaw, total, seenAt, changedAt, rate, held, source };
    }
    return stored;
  }

  private write(op: MachineOperation): void {
    switch (op.kind) {
      case 'counter.insert':
        this.state.insertCounter(op.machine, op.signal, op, op.source, op.at);
        return;
      case 'counter.rebaseline':
        this.state.rebaseline(op.machine, op.signal, op.raw, op.source, op.at);
        return;
      case 'counter.guard':
        this.state.updateGuard(op.machine, op.signal, op.state, op.at);
        return;
      case 'counter.seen':
        this.state.markSeen(op.machine, op.signal, op.at);
        return;
      case 'parameter':
        this.state.putParameter(op.machine, op.code, op.value);
        this.outbox.enqueueParameter(op.machine, op.code, op.value, op.at);
        return;
      case 'runState':
        this.state.putRunState(op.machine, op.state);
        return;
      case 'startStop':
        this.outbox.enqueueStartStop(op.machine, op.transition, op.at);
        return;
    }
  }
}
