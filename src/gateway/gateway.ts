/**
 * The composition root: creates clock, random, database, stores, processor, MES uplink,
 * device supervisor, status view and web server, and wires them (adapters → processor →
 * SQLite outbox → uploader → MES). Everything with a side effect is created here (or passed
 * in), so the parts stay testable on their own; the parts do the work.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import type { Random } from '../core/backoff.js';
import type { LoadedConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { openDatabase, type Db } from '../outbox/db.js';
import { MachineStateStore } from '../outbox/machine-state.js';
import { Outbox } from '../outbox/outbox.js';
import { Timeline } from '../outbox/timeline.js';
import { RequestLog } from '../outbox/request-log.js';
import { KvTime } from '../outbox/kv-time.js';
import { StorageMonitor } from '../outbox/storage-monitor.js';
import { quickCheck, storageId } from '../outbox/integrity.js';
import { MachineProcessor, type BadValue } from '../machine/processor.js';
import { ReadingQueue } from '../machine/reading-queue.js';
import { SqliteMachineStore } from '../outbox/machine-store.js';
import { deviceStateDir } from '../adapters/state-dir.js';
import { startWebServer, type WebServer } from '../web/server.js';
import { commissionDir, openAtStart } from '../web/commission/grant.js';
import type { CommissionOptions } from '../web/commission/routes.js';
import { previewMesBodies } from './commission-preview.js';
import { createCommissionTools } from './commission-tools.js';
import { DeviceSupervisor } from './device-supervisor.js';
import { MesUplink } from './mes-uplink.js';
import { StatusListeners, StatusView, TIMELINE_MS } from './status-view.js';

export interface GatewayOptions {
  config: LoadedConfig;
  logger: Logger;
  clock?: Clock;
  /** Jitter of every backoff (adapters and uplink). Default Math.random. */
  random?: Random;
  /** The database at storage.path, when the caller opened it already (to report problems its own way). */
  db?: Db;
  /**
   * Runs once the status page listens, before the devices connect and the uplink sends: the
   * demo starts its simulators here, so the page does not wait for them. A rejection fails the start.
   */
  beforeDevices?: () => Promise<void>;
}

/** What the commissioning routes get; `devices` follows reloads. */
interface Commissioning {
  options: CommissionOptions;
  running: LoadedConfig;
}

// One sample a minute over the timeline window keeps the live status small (480 points a machine).
const SAMPLE_MS = 60_000;
const TICK_MS = 1000;
const PRUNE_MS = 3600_000;
const INTEGRITY_CHECK_MS = 6 * 3600_000;
/** Readings of all devices share one commit per this window (machine/reading-queue.ts). */
const READING_COMMIT_MS = 250;

/** The parts that run until stop(), built whole before anything starts. */
interface Parts {
  logger: Logger;
  db: Db;
  timeline: Timeline;
  requests: RequestLog;
  storage: StorageMonitor;
  processor: MachineProcessor;
  readings: ReadingQueue;
  uplink: MesUplink;
  supervisor: DeviceSupervisor;
  view: StatusView;
  tasks: PeriodicTasks;
  commissioning: Commissioning;
}

export class Gateway {
  /** The status model the web server reads (also for tests and tools in process). */
  readonly view: StatusView;
  private stopped = false;

  private constructor(
    private readonly p: Parts,
    private config: LoadedConfig,
    private web: WebServer,
  ) {
    this.view = p.view;
  }

  /** Opens (or takes) the database, starts uplink, devices, periodic tasks and the status page; stops what it started if one fails. */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    const { config, logger } = opts;
    const g = config.gateway;
    const clock = opts.clock ?? systemClock;
    const db = opts.db ?? openDatabase(g.storage.path);
    let p: Parts;
    try {
      p = compose(db, config, logger, clock, opts.random ?? Math.random);
    } catch (err) {
      db.close();
      throw err;
    }
    let web: WebServer | undefined;
    try {
      // The page listens before the devices' adapters load (modbus-serial, node-opcua) and
      // before the demo's simulators start: it shows each device as connecting meanwhile,
      // and /healthz gives devices a grace period.
      web = await startWeb(g, p.view, logger, p.commissioning.options);
      if (g.web.commissioning?.enabled) openConfiguredWindow(g.web.listen, g.web.commissioning.minutes, p.commissioning.options, logger);
      const launchDevices = p.supervisor.list(config.devices.map((d) => d.config));
      await opts.beforeDevices?.();
      p.uplink.start();
      await launchDevices();
      const { tasks, processor, supervisor, timeline } = p;
      const sample = () => {
        const now = clock.now();
        timeline.sampleProduction(now, now - TIMELINE_MS);
      };
      tasks.every('tick', TICK_MS, () => processor.tick(clock.now(), (device) => supervisor.isLive(device)));
      tasks.every('sample', SAMPLE_MS, sample);
      tasks.every('prune', PRUNE_MS, () => timeline.pruneHistory(clock.now() - g.storage.retentionDays * 86400_000));
      // At start openDatabase checked it; a page going bad while running is found within this.
      tasks.every('integrity', INTEGRITY_CHECK_MS, () => quickCheck(db, g.storage.path));
      tasks.runNow('sample', sample);
      logger.info(
        { event: 'gateway.started', devices: supervisor.size, machines: processor.machineCodes().length, mes: g.prodsmart.baseUrl, storage: g.storage.path },
        'gateway started',
      );
      return new Gateway(p, config, web);
    } catch (err) {
      await web?.close();
      await stopParts(p);
      throw err;
    }
  }

  /** The status page's address. */
  get url(): string {
    return this.web.url;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.web.close();
    await stopParts(this.p);
    this.p.logger.info({ event: 'gateway.stopped' }, 'gateway stopped');
  }

  /**
   * Applies a new configuration: devices whose file changed are restarted, the others
   * keep running; machine state and pending deliveries are untouched.
   */
  async reload(next: LoadedConfig): Promise<void> {
    const { logger, view, processor, supervisor, uplink } = this.p;
    const prev = this.config;
    if (next.gateway.storage.path !== prev.gateway.storage.path) {
      logger.warn(
        { event: 'config.storage_path_pending', running: prev.gateway.storage.path, configured: next.gateway.storage.path },
        'storage.path changes take effect at the next restart',
      );
      next = { ...next, gateway: { ...next.gateway, storage: prev.gateway.storage } };
    }
    this.config = next;
    this.p.commissioning.running = next;
    view.configApplied(next.gateway);
    processor.setMachines(bindings(next));
    await supervisor.reload(next.devices.map((d) => d.config));
    if (JSON.stringify(prev.gateway.prodsmart) !== JSON.stringify(next.gateway.prodsmart)) {
      logger.info({ event: 'mes.reconnect' }, 'MES settings changed; reconnecting the uplink');
      await uplink.replace(next.gateway.prodsmart);
    } else {
      uplink.clearAuthProblem();
    }
    view.changed();
    logger.level = next.gateway.log.level;
    if (JSON.stringify(next.gateway.web) !== JSON.stringify(prev.gateway.web)) {
      logger.info({ event: 'web.restart' }, 'status page settings changed; restarting it');
      await this.web.close();
      try {
        this.web = await startWeb(next.gateway, view, logger, this.p.commissioning.options);
      } catch (err) {
        logger.error({ event: 'web.restart_failed', err }, 'status page could not start with the new settings; keeping the old ones');
        this.web = await startWeb(prev.gateway, view, logger, this.p.commissioning.options);
      }
    }
    // Switched on while running: as at start, one window now.
    const switched = next.gateway.web.commissioning;
    if (switched?.enabled && !prev.gateway.web.commissioning?.enabled) {
      openConfiguredWindow(next.gateway.web.listen, switched.minutes, this.p.commissioning.options, logger);
    }
  }

  /** A reload that failed: the running config stays, the error is shown. */
  reloadFailed(errors: string[]): void {
    this.p.view.configRejected(errors);
  }
}

/** Builds every part, starting none, so a throw here leaves just the database to close. */
function compose(db: Db, config: LoadedConfig, logger: Logger, clock: Clock, random: Random): Parts {
  const g = config.gateway;
  const state = new MachineStateStore(db);
  const requests = new RequestLog(db);
  // The answer times of MES requests ride on the delivery's commit (docs/delivery.md#writes-per-request).
  const outbox = new Outbox(db, { alsoCommit: () => requests.writeAnswers() });
  const timeline = new Timeline(db);
  const storage = new StorageMonitor(db, g.storage.path, clock, logger.child({ component: 'storage' }));
  const processor = new MachineProcessor(new SqliteMachineStore(db, state, outbox), {
    event: (machine, message, fields) => logger.info({ machine, ...fields }, message),
  });
  processor.setMachines(bindings(config));
  const listeners = new StatusListeners(logger);
  const changed = () => listeners.notify();
  const uplink = new MesUplink(
    {
      clock,
      random,
      logger: logger.child({ component: 'uplink' }),
      outbox,
      requests,
      pause: new KvTime(db, 'uplink.pausedUntil'),
      budgetAnsweredAt: new KvTime(db, 'budget.answeredAt'),
      storage,
      onChange: changed,
      gatewayId: gatewayId(db),
    },
    g.prodsmart,
  );
  const supervisor = new DeviceSupervisor({
    clock,
    random,
    logger,
    stateDir: (device) => deviceStateDir(g, device),
    ingest: (device, batch) => readings.add(device, batch),
    flushReadings: () => readings.flush(),
    onChange: changed,
  });
  const readings = new ReadingQueue({
    clock,
    windowMs: READING_COMMIT_MS,
    apply: (batch) => {
      if (storage.run('readings', () => showBadValues(processor.apply(batch, clock.now())))) uplink.wake();
      changed();
    },
  });
  // A count of -5 or 112.5 is refused before any state: shown on its device like any other bad value.
  const showBadValues = (bad: BadValue[]) => {
    for (const b of bad) {
      const device = processor.binding(b.machine)?.device;
      if (device !== undefined) supervisor.showBadValue(device, b);
    }
  };
  const view = new StatusView({ clock, config: g, storage, outbox, timeline, state, machines: processor, devices: supervisor, uplink, listeners });
  const commissioning: Commissioning = {
    running: config,
    options: {
      dir: commissionDir(g.storage.path),
      running: () => commissioning.running,
      previewer: previewMesBodies,
      clock,
      tools: createCommissionTools({
        clock,
        random,
        logger: logger.child({ component: 'commission' }),
        stateDir: (device) => deviceStateDir(g, device),
        devices: () => commissioning.running.devices.map((d) => d.config),
        pause: (devices, paused) => supervisor.setPaused(devices, paused),
        // Called, not passed: reading randomUUID would load node:crypto at start (scripts/build.js).
        newId: () => randomUUID(),
      }),
    },
  };
  return { logger, db, timeline, requests, storage, processor, readings, uplink, supervisor, view, tasks: new PeriodicTasks(clock, storage), commissioning };
}

async function stopParts(p: Parts): Promise<void> {
  p.tasks.stop();
  await p.supervisor.stop();
  p.storage.run('readings', () => p.readings.flush());
  await p.uplink.stop();
  p.storage.run('request-log', () => p.requests.flush());
  p.db.close();
}

/** The host's name and the database's id: readable in Redis, and the same across restarts of this gateway. */
function gatewayId(db: Db): string {
  return `${hostname()}-${(storageId(db) ?? randomUUID()).slice(0, 8)}`;
}

function bindings(config: LoadedConfig) {
  return config.devices.flatMap((d) => d.config.machines.map((m) => ({ device: d.config.device, config: m })));
}

function startWeb(g: GatewayConfig, view: StatusView, logger: Logger, commission: CommissionOptions): Promise<WebServer> {
  return startWebServer({ listen: g.web.listen, token: g.web.token, provider: view, logger: logger.child({ component: 'web' }), commission }).then((w) => {
    logger.info({ event: 'web.listening', url: w.url }, 'status page listening');
    return w;
  });
}

/** web.commissioning: a window whose one-time URL goes to a 0600 file; the log says where, never the token. */
function openConfiguredWindow(listen: string, minutes: number, commission: CommissionOptions, logger: Logger): void {
  const opened = openAtStart(commission.dir, listen, commission.clock.now(), minutes);
  logger.info(
    { event: 'commission.opened', expiresAt: new Date(opened.expiresAt).toISOString(), urlFile: opened.urlFile },
    'commissioning window open (web.commissioning); its one-time URL is in %s',
    opened.urlFile,
  );
}

/** Periodic database tasks; a failure is the storage monitor's to report (throttled), not one line a second. */
class PeriodicTasks {
  /** The pending timer of each task (one each, replaced when it fires). */
  private readonly timers = new Map<string, unknown>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly storage: StorageMonitor,
  ) {}

  every(name: string, ms: number, fn: () => void): void {
    const loop = () => {
      if (this.stopped) return;
      this.runNow(name, fn);
      this.timers.set(name, this.clock.setTimeout(loop, ms));
    };
    this.timers.set(name, this.clock.setTimeout(loop, ms));
  }

  runNow(name: string, fn: () => void): void {
    this.storage.run(name, fn);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
  }
}
