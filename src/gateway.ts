/**
 * Composes the pipeline: adapters → machine processor → SQLite outbox → uploader → MES,
 * and answers the status page. Everything with a side effect is created here (or passed
 * in), so the parts stay testable on their own.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { Random } from './backoff.js';
import type { LoadedConfig } from './config/load.js';
import type { DeviceConfig, GatewayConfig } from './config/schema.js';
import { openDatabase, type Db } from './outbox/db.js';
import { MachineStateStore } from './outbox/machine-state.js';
import { Outbox } from './outbox/outbox.js';
import { Timeline } from './outbox/timeline.js';
import { RequestLog } from './outbox/request-log.js';
import { MesPause } from './outbox/mes-pause.js';
import { StorageMonitor } from './outbox/storage-monitor.js';
import { quickCheck } from './outbox/integrity.js';
import { MachineProcessor, type BadValue } from './machine/processor.js';
import { ReadingQueue } from './machine/reading-queue.js';
import type { Reading } from './adapters/types.js';
import { adapterFactory } from './adapters/registry.js';
import { deviceStateDir } from './adapters/state-dir.js';
import type { AdapterSink, DeviceAdapter } from './adapters/types.js';
import { MesClient } from './uplink/mes-client.js';
import { RateBudget, SPAN_MS } from './uplink/rate-budget.js';
import { recordedAcquire } from './uplink/recorded-acquire.js';
import { Uploader } from './uplink/uploader.js';
import type { DeviceStatus, GatewayStatus, MachineStatus, StatusProvider } from './web/status-types.js';
import { version } from './version.js';

interface RunningDevice {
  config: DeviceConfig;
  /** The device file's content as loaded, to tell on reload whether it changed. */
  fingerprint: string;
  adapter?: DeviceAdapter;
  /** Shows a bad value of this device (counted, logged throttled). */
  report?: (machine: string, signal: string, message: string, at: number) => void;
  status: DeviceStatus;
}

export interface GatewayOptions {
  config: LoadedConfig;
  logger: Logger;
  clock?: Clock;
  /** Jitter of every backoff (adapters and uplink). Default Math.random. */
  random?: Random;
  /** The database at storage.path, when the caller opened it already (to report problems its own way). */
  db?: Db;
}

const TIMELINE_MS = 8 * 3600_000;
const BAD_VALUE_LOG_MS = 10 * 60_000;
// One sample a minute over the timeline window keeps the live status small (480 points a machine).
const SAMPLE_MS = 60_000;
const INTEGRITY_CHECK_MS = 6 * 3600_000;
/** Readings of all devices share one commit per this window (machine/reading-queue.ts). */
const READING_COMMIT_MS = 250;

export class Gateway implements StatusProvider {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private config: LoadedConfig;
  private db!: Db;
  private state!: MachineStateStore;
  private outbox!: Outbox;
  private timeline!: Timeline;
  private requests!: RequestLog;
  private mesPause!: MesPause;
  private storage!: StorageMonitor;
  private processor!: MachineProcessor;
  private readings!: ReadingQueue;
  private budget!: RateBudget;
  private client!: MesClient;
  private uploader!: Uploader;
  /** Outlives the uploader, which a change of MES settings replaces: Prometheus counters must not go back. */
  private readonly uplinkStats: GatewayStatus['stats'] = { requests: {}, rateLimited: 0, deliveredParts: {}, deliveredWaste: {} };
  private readonly devices = new Map<string, RunningDevice>();
  private readonly listeners = new Set<() => void>();
  private configErrors: string[] = [];
  private configLoadedAt: number;
  private readonly startedAt: number;
  /** The pending timer of each periodic task (one each, replaced when it fires). */
  private readonly timers = new Map<string, unknown>();
  private stopped = false;

  constructor(opts: GatewayOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger;
    this.config = opts.config;
    if (opts.db) this.db = opts.db;
    this.startedAt = this.clock.now();
    this.configLoadedAt = this.startedAt;
  }

  get storagePath(): string {
    return this.config.gateway.storage.path;
  }

  async start(): Promise<void> {
    const g = this.config.gateway;
    this.db ??= openDatabase(g.storage.path);
    this.state = new MachineStateStore(this.db);
    this.requests = new RequestLog(this.db);
    this.outbox = new Outbox(this.db, { alsoCommit: () => this.requests.writeAnswers() });
    this.timeline = new Timeline(this.db);
    this.mesPause = new MesPause(this.db);
    this.storage = new StorageMonitor(this.db, g.storage.path, this.clock, this.logger.child({ component: 'storage' }));
    this.processor = new MachineProcessor(this.db, this.state, this.outbox, {
      event: (machine, message, fields) => this.logger.info({ machine, ...fields }, message),
    });
    this.processor.setMachines(this.bindings(this.config));
    this.readings = new ReadingQueue({ clock: this.clock, windowMs: READING_COMMIT_MS, apply: (batch) => this.applyReadings(batch) });
    this.startUplink(g);
    for (const d of this.config.devices) await this.startDevice(d.config);
    this.every('tick', 1000, () => this.processor.tick(this.clock.now(), (device) => this.devices.get(device)?.status.state === 'connected'));
    this.every('sample', SAMPLE_MS, () => this.sampleProduction());
    this.every('prune', 3600_000, () => this.timeline.pruneHistory(this.clock.now() - g.storage.retentionDays * 86400_000));
    // At start openDatabase checked it; a page going bad while running is found within this.
    this.every('integrity', INTEGRITY_CHECK_MS, () => quickCheck(this.db, g.storage.path));
    this.storage.run('sample', () => this.sampleProduction());
    this.logger.info(
      { devices: this.devices.size, machines: this.processor.machineCodes().length, mes: g.prodsmart.baseUrl, storage: g.storage.path },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    await Promise.allSettled([...this.devices.values()].map((d) => d.adapter?.stop()));
    this.readings.flush();
    await this.uploader.stop();
    await this.client.close();
    this.storage.run('request-log', () => this.requests.flush());
    this.db.close();
    this.logger.info('gateway stopped');
  }

  /**
   * Applies a new configuration: devices whose file changed are restarted, the others
   * keep running; machine state and pending deliveries are untouched.
   */
  async reload(next: LoadedConfig): Promise<void> {
    const prev = this.config;
    if (next.gateway.storage.path !== prev.gateway.storage.path) {
      this.logger.warn({ running: prev.gateway.storage.path, configured: next.gateway.storage.path }, 'storage.path changes take effect at the next restart');
      next = { ...next, gateway: { ...next.gateway, storage: prev.gateway.storage } };
    }
    this.config = next;
    this.configErrors = [];
    this.configLoadedAt = this.clock.now();
    this.processor.setMachines(this.bindings(next));
    const wanted = new Map(next.devices.map((d) => [d.config.device, d.config]));
    for (const [id, running] of this.devices) {
      const cfg = wanted.get(id);
      if (!cfg || JSON.stringify(cfg) !== running.fingerprint) {
        await running.adapter?.stop();
        this.devices.delete(id);
        this.logger.info({ device: id }, cfg ? 'device changed; restarting it' : 'device removed');
      }
    }
    for (const cfg of wanted.values()) if (!this.devices.has(cfg.device)) await this.startDevice(cfg);
    if (JSON.stringify(prev.gateway.prodsmart) !== JSON.stringify(next.gateway.prodsmart)) {
      this.logger.info('MES settings changed; reconnecting the uplink');
      await this.uploader.stop();
      await this.client.close();
      this.startUplink(next.gateway);
    } else {
      // Saving gateway.yaml after fixing the key in the MES is how a technician says "try again".
      this.uploader.clearAuthProblem();
    }
    this.changed();
  }

  /** A reload that failed: the running config stays, the error is shown. */
  reloadFailed(errors: string[]): void {
    this.configErrors = errors;
    this.configLoadedAt = this.clock.now();
    this.changed();
  }

  private startUplink(g: GatewayConfig): void {
    const now = this.clock.now();
    this.budget = new RateBudget({
      perMinute: g.prodsmart.requestsPerMinute,
      clock: this.clock,
      history: this.requests.recent(now - SPAN_MS),
    });
    this.client = new MesClient({
      baseUrl: g.prodsmart.baseUrl,
      auth: g.prodsmart.auth,
      timeoutMs: g.prodsmart.timeoutMs,
      clock: this.clock,
      acquire: recordedAcquire({ budget: this.budget, requests: this.requests, clock: this.clock, onStorageFault: (err) => this.storage.failed(err, 'uplink') }),
    });
    this.uploader = new Uploader({
      outbox: this.outbox,
      client: this.client,
      budget: this.budget,
      clock: this.clock,
      random: this.random,
      logger: this.logger.child({ component: 'uplink' }),
      onChange: () => this.changed(),
      onStorageFault: (err) => this.storage.failed(err, 'uplink'),
      stats: this.uplinkStats,
      pausedUntil: this.mesPause.until(),
      savePause: (until) => this.mesPause.save(until),
    });
    this.uploader.start();
  }

  private bindings(config: LoadedConfig) {
    return config.devices.flatMap((d) => d.config.machines.map((m) => ({ device: d.config.device, config: m })));
  }

  private async startDevice(config: DeviceConfig): Promise<void> {
    const status: DeviceStatus = { id: config.device, protocol: config.protocol, state: 'connecting', signalErrors: [] };
    const running: RunningDevice = { config, fingerprint: JSON.stringify(config), status };
    this.devices.set(config.device, running);
    const logger = this.logger.child({ device: config.device });
    const badValueLog = new Map<string, { message: string; at: number; count: number }>();
    const report = (machine: string, signal: string, message: string, at: number) => {
      let e = status.signalErrors.find((x) => x.machine === machine && x.signal === signal);
      if (!e) status.signalErrors.push((e = { machine, signal, count: 0, lastMessage: message, lastAt: at }));
      e.count++;
      // A signal that is bad at every poll would fill the journal: log it when it starts or
      // changes, then once every BAD_VALUE_LOG_MS with how often it happened meanwhile.
      const key = `${machine} ${signal}`;
      const logged = badValueLog.get(key);
      if (!logged || logged.message !== message || at - logged.at >= BAD_VALUE_LOG_MS) {
        logger.warn({ event: 'signal.bad_value', machine, signal, error: message, times: e.count - (logged?.count ?? 0) }, 'bad value');
        badValueLog.set(key, { message, at, count: e.count });
      }
      e.lastMessage = message;
      e.lastAt = at;
      this.changed();
    };
    const sink: AdapterSink = {
      readings: (batch) => {
        if (running !== this.devices.get(config.device)) return;
        status.lastGoodReadAt = this.clock.now();
        this.readings.add(config.device, batch);
      },
      signalError: (machine, signal, message, at) => {
        // Readings gathered before this error are reported before it, as they came.
        this.readings.flush();
        report(machine, signal, message, at);
      },
      connection: (state, error) => {
        if (state !== status.state) {
          if (state === 'disconnected') logger.warn({ state, error }, 'device disconnected');
          else logger.info({ state }, `device ${state}`);
        }
        status.state = state;
        if (error) {
          status.lastError = error;
          status.lastErrorAt = this.clock.now();
        }
        this.changed();
      },
    };
    running.report = report;
    try {
      const create = await adapterFactory(config.protocol);
      running.adapter = create(config, {
        sink,
        logger,
        clock: this.clock,
        random: this.random,
        stateDir: deviceStateDir(this.config.gateway, config.device),
      });
      await running.adapter.start();
    } catch (err) {
      // One device that cannot start must not keep the others from running.
      status.state = 'disconnected';
      status.lastError = (err as Error).message;
      status.lastErrorAt = this.clock.now();
      logger.error({ err }, 'device could not start');
    }
  }

  /** A periodic database task; a failure is the storage monitor's to report (throttled), not one line a second. */
  private every(name: string, ms: number, fn: () => void): void {
    const loop = () => {
      if (this.stopped) return;
      this.storage.run(name, fn);
      this.timers.set(name, this.clock.setTimeout(loop, ms));
    };
    this.timers.set(name, this.clock.setTimeout(loop, ms));
  }

  private applyReadings(batch: Reading[]): void {
    // A count of -5 or 112.5 is refused before any state: shown like any other bad value.
    let bad: BadValue[] = [];
    if (this.storage.run('readings', () => (bad = this.processor.apply(batch, this.clock.now())))) this.uploader.wake();
    for (const b of bad) this.devices.get(this.processor.binding(b.machine)?.device ?? '')?.report?.(b.machine, b.signal, b.message, b.at);
    this.changed();
  }

  private sampleProduction(): void {
    const now = this.clock.now();
    this.timeline.sampleProduction(now, now - TIMELINE_MS);
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.logger.warn({ err }, 'status listener failed');
      }
    }
  }

  // ------------------------------------------------------------ StatusProvider

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  retryDeadLetter(id: number): boolean {
    const ok = this.outbox.retryDead(id, this.clock.now());
    if (ok) this.uploader.wake();
    this.changed();
    return ok;
  }

  dropDeadLetter(id: number): boolean {
    const ok = this.outbox.dropDead(id);
    this.changed();
    return ok;
  }

  status(): GatewayStatus {
    const now = this.clock.now();
    const g = this.config.gateway;
    const summary = this.read(() => this.outbox.summary(), { pending: 0, byMachine: {} });
    const deadLetters = this.read(() => this.outbox.deadLetters(), []);
    return {
      version,
      startedAt: this.startedAt,
      now,
      mes: { baseUrl: g.prodsmart.baseUrl, ...this.uploader.health },
      storage: this.storage.status(),
      budget: { perMinute: g.prodsmart.requestsPerMinute, usedLastMinute: this.budget.usedLastMinute() },
      outbox: { pending: summary.pending, deadLetters: deadLetters.length, oldestPendingAt: summary.oldestAt },
      deadLetters,
      devices: [...this.devices.values()].map((d) => d.status),
      machines: this.processor.machineCodes().map((code) => this.machineStatus(code, now, summary.byMachine[code] ?? 0)),
      stats: this.uploader.stats,
      config: { loadedAt: this.configLoadedAt, errors: this.configErrors },
    };
  }

  private machineStatus(code: string, now: number, pending: number): MachineStatus {
    const run = this.read(() => this.processor.runState(code)?.reported, undefined);
    const timeline = this.read(() => this.timeline.transitions(code, now - TIMELINE_MS), []);
    // A machine running since it was first seen has no transition: its state still shows.
    if (run && timeline.length === 0) timeline.push({ at: Math.max(run.since, now - TIMELINE_MS), running: run.running, type: run.type, sent: true });
    return {
      code,
      device: this.processor.binding(code)?.device ?? '',
      values: this.processor.values(code),
      totals: Object.fromEntries(this.read(() => this.state.counters(code), []).map((c) => [c.signal, { total: c.total, delivered: c.delivered }])),
      pending,
      run: run ? { running: run.running, type: run.type, since: run.since } : { running: null },
      timeline,
      production: this.read(() => this.timeline.production(code, now - TIMELINE_MS), []),
    };
  }

  /** A status read the database refuses (a damaged page): the fault is reported and shown, the rest of the status still is. */
  private read<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      this.storage.failed(err, 'status');
      return fallback;
    }
  }
}
