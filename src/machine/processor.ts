/**
 * Applies readings to machine state. Per batch: checks the readings (bad values go back to
 * the caller), loads the stored state of the batch's machines once, steps each machine
 * (step.ts decides everything), writes every operation in one transaction through the
 * MachineStore, and tells the events only once that committed. A crash leaves either the
 * old state with nothing queued or the new state with its deliveries queued — never a count
 * that is neither; a rolled-back batch tells nothing.
 */
import type { MachineConfig } from '../config/schema.js';
import type { Reading, SignalValue } from '../core/values.js';
import type { RunStopState } from './runstop.js';
import type { MachineOperation, MachineStore, StoredMachine } from './store.js';
import {
  checkReadings,
  machineRules,
  stepMachine,
  tickMachine,
  SEEN_PERSIST_MS,
  type BadValue,
  type MachineEvent,
  type MachineRules,
  type StepResult,
  type TimedValue,
} from './step.js';

export type { BadValue };

export interface MachineBinding {
  device: string;
  config: MachineConfig;
}

export interface ProcessorEvents {
  /** A notable guard decision (reset, wrap, held glitch) or a run/stop transition, once stored. */
  event(machine: string, message: string, fields: Record<string, unknown>): void;
}

type SeenOperation = Extract<MachineOperation, { kind: 'counter.seen' }>;

interface Bound {
  device: string;
  config: MachineConfig;
  rules: MachineRules;
}

export class MachineProcessor {
  private machines = new Map<string, Bound>();
  /**
   * The values last read per machine: for the status page, and the run/stop signals for a
   * batch or tick that does not carry them. Memory only, as the PLC's live values are.
   */
  private readonly lastValues = new Map<string, Record<string, TimedValue>>();

  /**
   * Unchanged counter reads not written yet, by `machine signal`: the step's `counter.seen`
   * and since when it waits. Written with the next commit that writes anyway, or by `tick`
   * once SEEN_PERSIST_MS old, so a poll that changed nothing writes nothing
   * (docs/delivery.md#writes-per-request). Lost if that commit rolls back or the process
   * stops: the guard then measures from the older seen time, slack it tolerates.
   */
  private readonly unwrittenSeen = new Map<string, { op: SeenOperation; since: number }>();

  private readonly store: MachineStore;
  private readonly events: ProcessorEvents;

  constructor(store: MachineStore, events: ProcessorEvents = { event: () => {} }) {
    this.store = store;
    this.events = events;
  }

  /** Sets the machines to process (at start and on config reload). State of kept machines carries on. */
  setMachines(bindings: MachineBinding[]): void {
    this.machines = new Map(bindings.map((b) => [b.config.code, { device: b.device, config: b.config, rules: machineRules(b.config) }]));
  }

  machineCodes(): string[] {
    return [...this.machines.keys()];
  }

  binding(code: string): MachineBinding | undefined {
    const m = this.machines.get(code);
    return m && { device: m.device, config: m.config };
  }

  values(machine: string): Record<string, { value: SignalValue; at: number }> {
    return { ...this.lastValues.get(machine) };
  }

  runState(machine: string): RunStopState | undefined {
    return this.store.runState(machine);
  }

  /** Returns the readings refused as bad values, for the caller to count and show. */
  apply(batch: Reading[], now: number): BadValue[] {
    const byMachine = new Map<string, Reading[]>();
    for (const r of batch) {
      if (!this.machines.has(r.machine)) continue;
      (byMachine.get(r.machine) ?? byMachine.set(r.machine, []).get(r.machine)!).push(r);
    }
    const bad: BadValue[] = [];
    const good = new Map<string, Reading[]>();
    for (const [code, readings] of byMachine) {
      const checked = checkReadings(this.lastValues.get(code) ?? {}, readings, this.machines.get(code)!.rules);
      bad.push(...checked.bad);
      this.lastValues.set(code, checked.values);
      if (checked.good.length > 0) good.set(code, checked.good);
    }
    this.write([...good.keys()], (code, stored) => stepMachine(this.snapshot(code, stored), good.get(code)!, this.machines.get(code)!.rules, now));
    return bad;
  }

  /**
   * Time-driven run/stop decisions (debounce expiry, idle counter) when no reading arrives.
   * `live(device)`: whether the device's last values still hold (it is connected).
   */
  tick(now: number, live: (device: string) => boolean = () => false): void {
    const tracked = [...this.machines.values()].filter((m) => m.rules.runStop);
    this.write(
      tracked.map((m) => m.config.code),
      (code, stored) => {
        const m = this.machines.get(code)!;
        return tickMachine(this.snapshot(code, stored), m.rules, now, live(m.device));
      },
      now - SEEN_PERSIST_MS,
    );
  }

  /** The stored state with the seen times not written yet: the step sees what it would have seen had they been. */
  private snapshot(code: string, stored: StoredMachine) {
    let counters = stored.counters;
    for (const [signal, c] of Object.entries(stored.counters)) {
      const seen = this.unwrittenSeen.get(`${code} ${signal}`);
      if (seen && seen.op.at > c.seenAt) counters = { ...counters, [signal]: { ...c, seenAt: seen.op.at } };
    }
    return { ...stored, counters, values: this.lastValues.get(code) ?? {} };
  }

  /**
   * Steps each machine on its stored state and writes all operations in one transaction; tells
   * the events after the commit. Seen times wait (see `unwrittenSeen`) unless something else is
   * written or one has waited since before `seenDueBefore`.
   */
  private write(codes: string[], step: (code: string, stored: StoredMachine) => StepResult, seenDueBefore = -Infinity): void {
    const seenDue = () => [...this.unwrittenSeen.values()].some((s) => s.since <= seenDueBefore);
    if (codes.length === 0 && !seenDue()) return;
    let events: MachineEvent[] = [];
    this.store.update(codes, (stored) => {
      const operations: MachineOperation[] = [];
      events = [];
      for (const code of codes) {
        const r = step(code, stored.get(code)!);
        for (const op of r.operations) {
          if (op.kind === 'counter.seen') {
            const key = `${op.machine} ${op.signal}`;
            this.unwrittenSeen.set(key, { op, since: this.unwrittenSeen.get(key)?.since ?? op.at });
          } else {
            // Any other write of a counter writes its row, seen time included.
            if ('signal' in op) this.unwrittenSeen.delete(`${op.machine} ${op.signal}`);
            operations.push(op);
          }
        }
        events.push(...r.events);
      }
      if (operations.length === 0 && !seenDue()) return operations;
      for (const { op } of this.unwrittenSeen.values()) operations.push(op);
      this.unwrittenSeen.clear();
      return operations;
    });
    for (const e of events) this.events.event(e.machine, e.message, e.fields);
  }
}
