/**
 * Runs one adapter per device file: starts them, applies a reload as a diff (a changed or
 * removed device is stopped, a new or changed one started, the rest keep running), and is
 * the adapters' sink: readings go to `ingest`, bad values to the device's status and a
 * throttled log.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Random } from '../core/backoff.js';
import type { DeviceConfig } from '../config/schema.js';
import type { BadValue } from '../machine/processor.js';
import { adapterFactory } from '../adapters/registry.js';
import type { AdapterFactory, AdapterSink, DeviceAdapter } from '../adapters/types.js';
import type { Reading } from '../core/values.js';
import type { DeviceStatus } from '../core/status.js';

export interface DeviceSupervisorOptions {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Folder for a device's own files (AdapterContext.stateDir). */
  stateDir: (device: string) => string;
  /** Queues a poll's readings for the processor; values it refuses come back through `showBadValue`. */
  ingest: (device: string, batch: Reading[]) => void;
  /** Applies the queued readings now: before an adapter's own signal error, so errors show in the order they came. */
  flushReadings: () => void;
  /** Something the status shows changed. */
  onChange: () => void;
  /** Protocol → adapter factory; default the registry. */
  adapterFactory?: (protocol: DeviceConfig['protocol']) => Promise<AdapterFactory>;
}

interface RunningDevice {
  /** The device file's content as loaded, to tell on reload whether it changed. */
  fingerprint: string;
  adapter?: DeviceAdapter;
  status: DeviceStatus;
  /** Shows a bad value of this device (counted, logged throttled). */
  report: (machine: string, signal: string, message: string, at: number) => void;
}

const BAD_VALUE_LOG_MS = 10 * 60_000;

export class DeviceSupervisor {
  private readonly devices = new Map<string, RunningDevice>();
  private readonly createAdapter: (protocol: DeviceConfig['protocol']) => Promise<AdapterFactory>;

  constructor(private readonly o: DeviceSupervisorOptions) {
    this.createAdapter = o.adapterFactory ?? adapterFactory;
  }

  /** Lists every device as connecting now; the returned function loads and starts their adapters one by one. */
  list(devices: DeviceConfig[]): () => Promise<void> {
    const launches = devices.map((d) => this.register(d));
    return async () => {
      for (const launch of launches) await launch();
    };
  }

  /** Restarts the devices whose file changed, stops removed ones, starts new ones. */
  async reload(devices: DeviceConfig[]): Promise<void> {
    const wanted = new Map(devices.map((d) => [d.device, d]));
    for (const [id, running] of this.devices) {
      const cfg = wanted.get(id);
      if (!cfg || JSON.stringify(cfg) !== running.fingerprint) {
        await running.adapter?.stop();
        this.devices.delete(id);
        this.o.logger.info({ event: cfg ? 'device.restarted' : 'device.removed', device: id }, cfg ? 'device changed; restarting it' : 'device removed');
      }
    }
    for (const cfg of wanted.values()) if (!this.devices.has(cfg.device)) await this.register(cfg)();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.devices.values()].map((d) => d.adapter?.stop()));
  }

  get size(): number {
    return this.devices.size;
  }

  statuses(): DeviceStatus[] {
    return [...this.devices.values()].map((d) => d.status);
  }

  /** A value the processor refused (a count of -5 or 112.5): shown on its device like any other bad value. */
  showBadValue(device: string, b: BadValue): void {
    this.devices.get(device)?.report(b.machine, b.signal, b.message, b.at);
  }

  /** Shows the devices' polling paused for commissioning (a unit scan holds their serial line), or running again. */
  setPaused(devices: string[], paused: boolean): void {
    for (const id of devices) {
      const status = this.devices.get(id)?.status;
      if (!status) continue;
      if (paused) status.paused = 'commissioning';
      else delete status.paused;
      this.o.logger.info({ event: paused ? 'device.paused' : 'device.resumed', device: id }, paused ? 'polling paused for commissioning' : 'polling resumed');
    }
    this.o.onChange();
  }

  /**
   * Whether the device's last values still hold, for the run/stop tick: connected and being
   * polled. A line held by a commissioning scan is not: its count stands still because we
   * stopped reading it, and an idle stop inferred from that would be a downtime we made up.
   */
  isLive(device: string): boolean {
    const status = this.devices.get(device)?.status;
    return status?.state === 'connected' && status.paused === undefined;
  }

  /** Lists the device as connecting; the returned function loads and starts its adapter. */
  private register(config: DeviceConfig): () => Promise<void> {
    const { clock, onChange } = this.o;
    const status: DeviceStatus = { id: config.device, protocol: config.protocol, state: 'connecting', signalErrors: [] };
    const logger = this.o.logger.child({ device: config.device });
    const badValueLog = new Map<string, { message: string; at: number; count: number }>();
    const report = (machine: string, signal: string, message: string, at: number) => {
      let e = status.signalErrors.find((x) => x.machine === machine && x.signal === signal);
      if (!e) {
        e = { machine, signal, count: 0, lastMessage: message, lastAt: at };
        status.signalErrors.push(e);
      }
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
      onChange();
    };
    const running: RunningDevice = { fingerprint: JSON.stringify(config), status, report };
    this.devices.set(config.device, running);
    const sink: AdapterSink = {
      readings: (batch) => {
        // A stopped adapter's last batch must not land on its successor's status.
        if (running !== this.devices.get(config.device)) return;
        status.lastGoodReadAt = clock.now();
        this.o.ingest(config.device, batch);
        onChange();
      },
      signalError: (machine, signal, message, at) => {
        this.o.flushReadings();
        report(machine, signal, message, at);
      },
      connection: (state, error) => {
        if (state !== status.state) {
          if (state === 'disconnected') logger.warn({ event: 'device.disconnected', state, error }, 'device disconnected');
          else logger.info({ event: `device.${state}`, state }, `device ${state}`);
        }
        status.state = state;
        if (error) {
          status.lastError = error;
          status.lastErrorAt = clock.now();
        }
        onChange();
      },
    };
    return async () => {
      try {
        const create = await this.createAdapter(config.protocol);
        running.adapter = create(config, { sink, logger, clock, random: this.o.random, stateDir: this.o.stateDir(config.device) });
        await running.adapter.start();
      } catch (err) {
        // One device that cannot start must not keep the others from running.
        status.state = 'disconnected';
        status.lastError = (err as Error).message;
        status.lastErrorAt = clock.now();
        logger.error({ event: 'device.start_failed', err }, 'device could not start');
      }
    };
  }
}
