/**
 * The gateway as the status page, /api/status and /metrics see it (the `StatusProvider`):
 * builds the status model from the stores, the processor, the devices and the uplink, tells
 * listeners when something visible changed, and carries out the two dead-letter actions.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { GatewayConfig } from '../config/schema.js';
import type { MachineProcessor } from '../machine/processor.js';
import type { MachineStateStore } from '../outbox/machine-state.js';
import type { Outbox } from '../outbox/outbox.js';
import type { Timeline } from '../outbox/timeline.js';
import type { StorageMonitor } from '../outbox/storage-monitor.js';
import type { UplinkHealth, UplinkStats } from '../uplink/uploader.js';
import type { DeviceStatus, GatewayStatus, MachineStatus, SharedBudgetStatus, StatusProvider } from '../core/status.js';
import { version } from '../core/version.js';

/** How far back the status shows run/stop and production (the sampler keeps as much). */
export const TIMELINE_MS = 8 * 3600_000;

/** What the status reads of the MES side, which a change of MES settings replaces. */
export interface UplinkView {
  health: UplinkHealth;
  stats: UplinkStats;
  usedLastMinute(): number;
  /** The company budget on Redis, when this gateway takes part in one. */
  sharedBudget(): SharedBudgetStatus | undefined;
  wake(): void;
}

/** Who is told that something the status shows changed; a failing listener is logged, the others still hear it. */
export class StatusListeners {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly logger: Logger) {}

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.logger.warn({ event: 'status.listener_failed', err }, 'status listener failed');
      }
    }
  }
}

export interface StatusViewOptions {
  clock: Clock;
  /** The gateway configuration running at start; later ones come through configApplied. */
  config: GatewayConfig;
  storage: StorageMonitor;
  outbox: Outbox;
  timeline: Timeline;
  state: MachineStateStore;
  machines: Pick<MachineProcessor, 'machineCodes' | 'runState' | 'binding' | 'values'>;
  devices: { statuses(): DeviceStatus[] };
  uplink: UplinkView;
  listeners: StatusListeners;
}

export class StatusView implements StatusProvider {
  private readonly startedAt: number;
  private config: GatewayConfig;
  private configLoadedAt: number;
  private configErrors: string[] = [];

  constructor(private readonly o: StatusViewOptions) {
    this.startedAt = o.clock.now();
    this.configLoadedAt = this.startedAt;
    this.config = o.config;
  }

  /** A reload that took effect. */
  configApplied(config: GatewayConfig): void {
    this.config = config;
    this.configErrors = [];
    this.configLoadedAt = this.o.clock.now();
  }

  /** A reload that failed: the running config stays, the errors are shown. */
  configRejected(errors: string[]): void {
    this.configErrors = errors;
    this.configLoadedAt = this.o.clock.now();
    this.changed();
  }

  changed(): void {
    this.o.listeners.notify();
  }

  onChange(listener: () => void): () => void {
    return this.o.listeners.add(listener);
  }

  retryDeadLetter(id: number): boolean {
    const ok = this.o.outbox.retryDead(id, this.o.clock.now());
    if (ok) this.o.uplink.wake();
    this.changed();
    return ok;
  }

  dropDeadLetter(id: number): boolean {
    const ok = this.o.outbox.dropDead(id);
    this.changed();
    return ok;
  }

  status(): GatewayStatus {
    const { outbox, uplink, machines } = this.o;
    const now = this.o.clock.now();
    const summary = this.read(() => outbox.summary(), { pending: 0, byMachine: {} });
    const deadLetters = this.read(() => outbox.deadLetters(), []);
    return {
      version,
      startedAt: this.startedAt,
      now,
      mes: { baseUrl: this.config.prodsmart.baseUrl, ...uplink.health },
      storage: this.o.storage.status(),
      budget: { perMinute: this.config.prodsmart.requestsPerMinute, usedLastMinute: uplink.usedLastMinute(), shared: uplink.sharedBudget() },
      outbox: { pending: summary.pending, deadLetters: deadLetters.length, oldestPendingAt: summary.oldestAt },
      deadLetters,
      devices: this.o.devices.statuses(),
      machines: machines.machineCodes().map((code) => this.machineStatus(code, now, summary.byMachine[code] ?? 0)),
      stats: uplink.stats,
      config: { loadedAt: this.configLoadedAt, errors: this.configErrors },
    };
  }

  private machineStatus(code: string, now: number, pending: number): MachineStatus {
    const { machines } = this.o;
    const run = this.read(() => machines.runState(code)?.reported, undefined);
    const timeline = this.read(() => this.o.timeline.transitions(code, now - TIMELINE_MS), []);
    // A machine running since it was first seen has no transition: its state still shows.
    if (run && timeline.length === 0) timeline.push({ at: Math.max(run.since, now - TIMELINE_MS), running: run.running, type: run.type, sent: true });
    return {
      code,
      device: machines.binding(code)?.device ?? '',
      values: machines.values(code),
      totals: Object.fromEntries(this.read(() => this.o.state.counters(code), []).map((c) => [c.signal, { total: c.total, delivered: c.delivered }])),
      pending,
      run: run ? { running: run.running, type: run.type, since: run.since } : { running: null },
      timeline,
      production: this.read(() => this.o.timeline.production(code, now - TIMELINE_MS), []),
    };
  }

  /** A status read the database refuses (a damaged page): the fault is reported and shown, the rest of the status still is. */
  private read<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      this.o.storage.failed(err, 'status');
      return fallback;
    }
  }
}
