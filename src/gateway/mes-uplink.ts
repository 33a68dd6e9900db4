/**
 * The MES side as one replaceable part: rate budget, MES client and uploader, built
 * together and rebuilt together when the MES settings change. What must survive a rebuild
 * (the request log on disk, the Prometheus counters) lives outside them.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Random } from '../core/backoff.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Outbox } from '../outbox/outbox.js';
import type { RequestLog } from '../outbox/request-log.js';
import type { MesPause } from '../outbox/mes-pause.js';
import type { StorageMonitor } from '../outbox/storage-monitor.js';
import { MesClient } from '../uplink/mes-client.js';
import { RateBudget, SPAN_MS } from '../uplink/rate-budget.js';
import { recordedAcquire } from '../uplink/recorded-acquire.js';
import { Uploader, type UplinkHealth, type UplinkStats } from '../uplink/uploader.js';
import type { UplinkView } from './status-view.js';

/** After a start, parameters alone wait this long for a counter to take the first send (and carry them). */
const HOLD_PARAMETERS_MS = 2000;

export interface MesUplinkOptions {
  clock: Clock;
  random: Random;
  logger: Logger;
  outbox: Outbox;
  requests: RequestLog;
  /** The 429 pause, kept across restarts. */
  pause: MesPause;
  storage: StorageMonitor;
  onChange: () => void;
}

interface Parts {
  budget: RateBudget;
  client: MesClient;
  uploader: Uploader;
}

export class MesUplink implements UplinkView {
  /** Outlives the uploader, which a change of MES settings replaces: Prometheus counters must not go back. */
  readonly stats: UplinkStats = { requests: {}, rateLimited: 0, deliveredParts: {}, deliveredWaste: {} };
  private parts: Parts;

  constructor(
    private readonly o: MesUplinkOptions,
    settings: GatewayConfig['prodsmart'],
  ) {
    this.parts = this.build(settings);
  }

  /** Starts sending (the gateway does once the devices may connect: the demo's MES sandbox is up by then). */
  start(): void {
    this.parts.client.prepare();
    this.parts.uploader.start();
  }

  get health(): UplinkHealth {
    return this.parts.uploader.health;
  }

  usedLastMinute(): number {
    return this.parts.budget.usedLastMinute();
  }

  wake(): void {
    this.parts.uploader.wake();
  }

  /** Saving gateway.yaml after fixing the key in the MES is how a technician says "try again". */
  clearAuthProblem(): void {
    this.parts.uploader.clearAuthProblem();
  }

  /** New MES settings: the running uploader finishes, a new budget, client and uploader take over. */
  async replace(settings: GatewayConfig['prodsmart']): Promise<void> {
    await this.stop();
    this.parts = this.build(settings);
    this.start();
  }

  async stop(): Promise<void> {
    await this.parts.uploader.stop();
    await this.parts.client.close();
  }

  private build(settings: GatewayConfig['prodsmart']): Parts {
    const { clock, requests, pause } = this.o;
    const budget = new RateBudget({
      perMinute: settings.requestsPerMinute,
      clock,
      history: requests.recent(clock.now() - SPAN_MS),
    });
    const client = new MesClient({
      baseUrl: settings.baseUrl,
      auth: settings.auth,
      timeoutMs: settings.timeoutMs,
      clock,
      acquire: recordedAcquire({ budget, requests, clock, onStorageFault: (err) => this.o.storage.failed(err, 'uplink') }),
    });
    const uploader = new Uploader({
      outbox: this.o.outbox,
      client,
      budget,
      clock,
      random: this.o.random,
      logger: this.o.logger,
      onChange: this.o.onChange,
      onStorageFault: (err) => this.o.storage.failed(err, 'uplink'),
      stats: this.stats,
      pausedUntil: pause.until(),
      savePause: (until) => pause.save(until),
      holdParametersMs: HOLD_PARAMETERS_MS,
    });
    return { budget, client, uploader };
  }
}
