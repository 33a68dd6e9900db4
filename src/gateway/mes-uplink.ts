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
import type { KvTime } from '../outbox/kv-time.js';
import type { StorageMonitor } from '../outbox/storage-monitor.js';
import type { SharedBudgetStatus } from '../core/status.js';
import { safeUrl } from '../config/words.js';
import { connectBudgetRedis } from '../uplink/budget-redis.js';
import { FORGET_MS, GRACE_MS, LAPSE_MS, RESERVE_MS } from '../uplink/budget-script.js';
import { MesClient } from '../uplink/mes-client.js';
import { RateBudget, SPAN_MS, type SendBudget } from '../uplink/rate-budget.js';
import { SharedBudget } from '../uplink/shared-budget.js';
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
  pause: KvTime;
  /** When Redis last answered this gateway's shared budget, kept across restarts. */
  budgetAnsweredAt: KvTime;
  storage: StorageMonitor;
  onChange: () => void;
  /** This gateway's name in a shared budget: stable across restarts, different on every gateway. */
  gatewayId: string;
}

interface Parts {
  budget: SendBudget;
  /** When `prodsmart.sharedBudget` is set. */
  shared?: SharedBudget;
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

  sharedBudget(): SharedBudgetStatus | undefined {
    return this.parts.shared?.status();
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
    // Together: a request waiting for a shared slot (a company pause may last 15 min) ends with the budget.
    await Promise.all([this.parts.uploader.stop(), this.parts.shared?.stop()]);
    await this.parts.client.close();
  }

  private build(settings: GatewayConfig['prodsmart']): Parts {
    const { clock, requests, pause } = this.o;
    const shared = settings.sharedBudget && this.shared(settings.sharedBudget, settings.requestsPerMinute);
    const budget = shared ?? new RateBudget({ perMinute: settings.requestsPerMinute, clock, history: requests.recent(clock.now() - SPAN_MS) });
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
      pausedUntil: pause.get(),
      savePause: (until) => pause.put(until),
      holdParametersMs: HOLD_PARAMETERS_MS,
    });
    return { budget, shared, client, uploader };
  }

  private shared(config: NonNullable<GatewayConfig['prodsmart']['sharedBudget']>, fallbackPerMinute: number): SharedBudget {
    const { clock, requests, outbox, gatewayId, budgetAnsweredAt, storage } = this.o;
    return new SharedBudget({
      key: config.key,
      redisShown: safeUrl(config.redis),
      companyPerMinute: config.requestsPerMinute,
      fallbackPerMinute,
      clock,
      logger: this.o.logger,
      connect: () =>
        connectBudgetRedis({
          url: config.redis,
          key: config.key,
          gateway: gatewayId,
          spanMs: SPAN_MS,
          limit: config.requestsPerMinute,
          lapseMs: LAPSE_MS,
          reserveMs: RESERVE_MS,
          graceMs: GRACE_MS,
          forgetMs: FORGET_MS,
        }),
      recentSends: (from) => requests.recent(from),
      demand: () => new Set(outbox.lanes().map((c) => c.machine)).size,
      answeredStore: {
        get: () => budgetAnsweredAt.get(),
        put: (at) => {
          try {
            budgetAnsweredAt.put(at);
          } catch (err) {
            storage.failed(err, 'uplink');
          }
        },
      },
      onChange: this.o.onChange,
    });
  }
}
