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
    );
  }

  private snapshot(code: string, stored: StoredMachine) {
    return { ...stored, values: this.lastValues.get(code) ?? {} };
  }

  /** Steps each machine on its stored state and writes all operations in one transaction; tells the events after the commit. */
  private write(codes: string[], step: (code: string, stored: StoredMachine) => StepResult): void {
    if (codes.length === 0) return;
    let events: MachineEvent[] = [];
    this.store.update(codes, (stored) => {
      const operations: MachineOperation[] = [];
      events = [];
      for (const code of codes) {
        const r = step(code, stored.get(code)!);
        operations.push(...r.operations);
        events.push(...r.events);
      }
      return operations;
    });
    for (const e of events) this.events.event(e.machine, e.message, e.fields);
  }
}
