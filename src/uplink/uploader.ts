/**
 * The delivery loop: picks the next machine and lane (scheduler), builds the request from
 * the outbox, sends it within the shared rate budget, and settles the outbox by the MES's
 * answer (docs/delivery.md). Requests for different machines may overlap; one machine
 * never has two in flight, so its transitions stay in order.
 */
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { sleep } from '../core/clock.js';
import type { Outbox, CounterValue, MesKind, StartStopItem } from '../outbox/outbox.js';
import type { Lane } from '../core/lanes.js';
import type { DowntimesResult, MesClient, MesResult } from './mes-client.js';
import { counterBody, parametersBody, startStopBody } from './bodies.js';
import { downtimeQuery, laterDowntimesQuery, transitionArrived, type Downtime } from './downtimes.js';
import type { SendBudget } from './rate-budget.js';
import { RoundRobinScheduler } from './scheduler.js';
import { BACKOFF, backoffDelay, type Random } from '../core/backoff.js';
import type { GatewayStatus } from '../core/status.js';
import { errorCode } from '../core/errors.js';

/** What the uplink knows of the MES, as the status page shows it. */
export type UplinkHealth = Omit<GatewayStatus['mes'], 'baseUrl'>;
export type UplinkStats = GatewayStatus['stats'];

export interface UploaderOptions {
  outbox: Outbox;
  client: MesClient;
  budget: SendBudget;
  clock: Clock;
  logger: Logger;
  /** Jitter of the backoff while the MES is unreachable. */
  random: Random;
  /** Requests in flight at once (each for a different machine). */
  concurrency?: number;
  /** Called after every settled request, for the status page. */
  onChange?: () => void;
  /** A local database write failed (disk full, I/O error): the gateway's to report, not the MES's. */
  onStorageFault?: (err: Error) => void;
  /** Counters for /metrics; pass the same object to a new uploader so they never go back. */
  stats?: UplinkStats;
  /** A 429 pause to honour from the start (it outlives a restart or a reload of the uplink). */
  pausedUntil?: number;
  /** Remembers a 429 pause, so that a restart does not send before Retry-After. */
  savePause?: (until: number) => void;
  /**
   * After start, parameters-only work waits this long, until a counter has gone
   * (docs/rate-budget.md#priorities-and-fairness): a PLC's first read is its counters' baseline
   * but already a change of its parameters, and the 620 ms spacing behind them would hold the
   * first count back. Default 0.
   */
  holdParametersMs?: number;
}

/** How long a machine's counter parts are sent one by one after the MES refused them together. */
const ISOLATE_MS = 10 * 60_000;
/** After the MES refused Basic credentials, one request this often tells whether it takes them again. */
const AUTH_RETRY_MS = 15 * 60_000;
/**
 * No pause lasts longer. A Retry-After beyond it is cut to it (logged, shown): the MES's
 * limit is per minute, so hours of silence would only pile up data (one gateway once waited
 * 27.8 h on `Retry-After: 99999`); if the MES still refuses, the next 429 pauses again. A
 * remembered pause further ahead also means the wall clock stepped back (NTP on a Pi
 * without a real-time clock).
 */
const MAX_PAUSE_MS = 15 * 60_000;
/** After a local database write failed, sending waits this long (nothing can be settled meanwhile). */
const STORAGE_RETRY_MS = 5000;

/** Failed checks of an uncertain run/stop before it is taken as received (docs/delivery.md#uncertain-outcomes). */
const MAX_VERIFY_FAILURES = 3;
/** Pages of downtimes read for one check; more since the attempt and the answer is not conclusive. */
const MAX_DOWNTIME_PAGES = 5;

export class Uploader {
  readonly health: UplinkHealth = { reachable: null };
  readonly stats: UplinkStats;
  private readonly scheduler = new RoundRobinScheduler();
  private readonly busy = new Set<string>();
  /** Machines whose counter parts go one request each, until then (see sendCounter). */
  private readonly isolate = new Map<string, number>();
  private readonly paramsTurn = new Set<string>();
  /** In isolation, the counter part sent last per machine: the parts take turns. */
  private readonly lastPart = new Map<string, string>();
  /** Per machine, the counter parts a combined "not greater" may have been about: each goes alone (see sendCounter). */
  private readonly unsure = new Map<string, Set<string>>();
  private authProblemAt = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private wakeUp: (() => void) | undefined;
  private failures = 0;
  private storageRetryAt = 0;
  /** Per machine, an answer the MES gave that the local disk could not record yet: recorded before anything else is sent for it. */
  private readonly unsettled = new Map<string, () => void>();
  private loop: Promise<void> | undefined;
  /** Until then (or the first counter sent), parameters-only work is not picked: see holdParametersMs. */
  private parametersHeldUntil = 0;
  /** Per outbox row, the checks of an uncertain run/stop that got no usable answer. */
  private readonly verifyFailures = new Map<number, number>();

  constructor(private readonly o: UploaderOptions) {
    this.stats = o.stats ?? { requests: {}, rateLimited: 0, deliveredParts: {}, deliveredWaste: {} };
    const now = o.clock.now();
    if (o.pausedUntil !== undefined && o.pausedUntil > now) {
      const until = this.pauseForMes(o.pausedUntil - now);
      if (until < o.pausedUntil) o.savePause?.(until);
    }
  }

  start(): void {
    if (this.loop) return;
    this.parametersHeldUntil = this.o.clock.now() + (this.o.holdParametersMs ?? 0);
    this.loop = this.run();
  }

  /** New work was queued: do not wait for the idle poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Lets requests in flight finish (the outbox settles them), then stops. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /** After credentials were fixed (config reload): try again. */
  clearAuthProblem(): void {
    this.health.authProblem = undefined;
    this.wake();
  }

  private async run(): Promise<void> {
    const { clock } = this.o;
    const concurrency = this.o.concurrency ?? 2;
    while (!this.abort.signal.aborted) {
      const now = clock.now();
      const pausedFor = Math.min(MAX_PAUSE_MS, Math.max((this.health.pausedUntil ?? 0) - now, this.o.budget.delayMs(), this.storageRetryAt - now));
      if (this.health.authProblem && now - this.authProblemAt < AUTH_RETRY_MS) {
        await this.idle(Math.min(60_000, AUTH_RETRY_MS - (now - this.authProblemAt)));
        continue;
      }
      if (pausedFor > 0) {
        await sleep(clock, pausedFor, this.abort.signal);
        continue;
      }
      if (this.inFlight.size >= concurrency) {
        await Promise.race(this.inFlight);
        continue;
      }
      const held = now < this.parametersHeldUntil;
      const pending = this.o.outbox.lanes();
      const pick = this.scheduler.pick(held ? pending.filter((c) => c.lane !== 'parameters') : pending, this.busy);
      if (!pick) {
        await this.idle(Math.min(this.inFlight.size > 0 ? 50 : 1000, held ? this.parametersHeldUntil - now : Infinity));
        continue;
      }
      if (pick.lane === 'counter') this.parametersHeldUntil = 0;
      const p = this.send(pick.machine, pick.lane).finally(() => {
        this.busy.delete(pick.machine);
        this.inFlight.delete(p);
        this.wake();
      });
      this.busy.add(pick.machine);
      this.inFlight.add(p);
    }
  }

  private async idle(ms: number): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    this.wakeUp = () => ac.abort();
    await sleep(this.o.clock, ms, ac.signal);
    this.abort.signal.removeEventListener('abort', onAbort);
    this.wakeUp = undefined;
  }

  private async send(machine: string, lane: Lane): Promise<void> {
    try {
      this.unsettled.get(machine)?.();
      this.unsettled.delete(machine);
      if (lane === 'startstop') await this.sendStartStop(machine);
      else if (lane === 'counter') await this.sendCounter(machine);
      else await this.sendParameters(machine);
    } catch (err) {
      if (this.abort.signal.aborted && errorCode(err) === 'SFG_BUDGET_STOPPED') {
        // Still waiting for a slot when the uplink stopped: nothing was sent, the item stays queued.
      } else if (err instanceof Database.SqliteError) {
        // The local disk, not the MES: the item stays queued (an accepted counter is settled
        // when re-sent, as after a crash), and the MES is not blamed.
        this.storageRetryAt = this.o.clock.now() + STORAGE_RETRY_MS;
        this.o.onStorageFault?.(err);
      } else {
        // A bug here must not stop delivery for everyone; the item stays queued.
        this.o.logger.error({ event: 'mes.delivery_failed', err, machine, lane }, 'delivery failed unexpectedly');
        this.noteFailure((err as Error).message, errorCode(err));
      }
    }
    this.o.onChange?.();
  }

  private async sendStartStop(machine: string): Promise<void> {
    const { outbox, clock, client, logger } = this.o;
    const item = outbox.nextStartStop(machine, clock.now());
    if (!item) return;
    if (item.attemptedAt !== undefined) return this.verifyStartStop(machine, item, item.attemptedAt);
    const body = startStopBody(item);
    // Marked after the rate budget let it go and before the bytes leave (see Outbox.nextStartStop).
    const res = await client.startstop(machine, body, () => outbox.markStartStopAttempt(item.id, clock.now()));
    this.count('startstop', res);
    if (res.outcome === 'ok') {
      const at = clock.now();
      this.settle(machine, () => outbox.startStopDelivered(machine, item, at));
      logger.info({ event: 'mes.delivered', kind: 'startstop', machine, ...body }, 'delivered startstop');
    } else if (res.outcome === 'rejected') {
      const id = outbox.startStopDead(machine, item, res.status, res.reason, clock.now());
      this.deadLettered('startstop', machine, id, res, res.reason, body);
    } else if (res.outcome === 'retry' && res.mayHaveArrived) {
      // Left marked: sending it blindly could open a second downtime, so the next turn asks the MES.
      logger.warn(
        { event: 'startstop.uncertain', machine, ...body, error: res.error, code: res.code },
        `no answer for the ${machine} run/stop; asking the MES whether it arrived`,
      );
      this.noteFailure(res.error, res.code);
    } else {
      outbox.startStopNotSent(item, 'error' in res ? res.error : `HTTP ${res.status}`);
      this.handleFailure(res, []);
    }
  }

  /**
   * An uncertain run/stop: the MES's downtimes tell whether it arrived (settled `verified`) or
   * not (sent again). Without a usable answer it is checked again after the backoff, and
   * taken as received (`uncertain`, never re-sent) when the MES cannot tell.
   */
  private async verifyStartStop(machine: string, item: StartStopItem, attemptedAt: number): Promise<void> {
    const { outbox, clock, logger } = this.o;
    const found = await this.machineDowntimes(machine, item, downtimeQuery(item.running, attemptedAt));
    if (!found) return;
    const next = laterDowntimesQuery(item.running, machine, found);
    const later = next ? await this.machineDowntimes(machine, item, next) : [];
    if (!later) return;
    this.verifyFailures.delete(item.id);
    const body = startStopBody(item);
    if (transitionArrived(machine, item.running, attemptedAt, [...found, ...later])) {
      outbox.startStopVerified(machine, item, clock.now());
      logger.info({ event: 'startstop.verified', machine, ...body }, `the MES has the ${machine} run/stop that got no answer`);
    } else {
      outbox.startStopNotSent(item, 'the MES did not get it (its downtimes do not show it)');
      logger.warn({ event: 'startstop.not_arrived', machine, ...body }, `the MES did not get the ${machine} run/stop; sending it again`);
    }
  }

  /**
   * Every page of the downtimes for a query that are the machine's, read until an empty page.
   * Undefined when the check could not be made: a failed request, or more pages than
   * MAX_DOWNTIME_PAGES (then the transition is taken as received).
   */
  private async machineDowntimes(machine: string, item: StartStopItem, query: Record<string, string>): Promise<Downtime[] | undefined> {
    const out: Downtime[] = [];
    for (let page = 1; page <= MAX_DOWNTIME_PAGES; page++) {
      const res = await this.o.client.downtimes(query, page);
      this.count('downtimes', res);
      if (res.outcome !== 'ok') {
        this.verifyFailed(machine, item, res);
        return undefined;
      }
      if (res.downtimes.length === 0) return out;
      out.push(...res.downtimes.filter((d) => d.machines.includes(machine)));
    }
    this.takeAsReceived(machine, item, `more than ${MAX_DOWNTIME_PAGES} pages of downtimes since the attempt`);
    return undefined;
  }

  private verifyFailed(machine: string, item: StartStopItem, res: Exclude<DowntimesResult, { outcome: 'ok' }>): void {
    if (res.outcome === 'rate-limited') {
      this.handleFailure(res, []);
      return;
    }
    const error = 'error' in res ? res.error : `HTTP ${res.status}: ${res.reason}`;
    // 404 or 403: the endpoint is not there or not ours to read; asking again will not help.
    const failures = (this.verifyFailures.get(item.id) ?? 0) + 1;
    if (res.status === 404 || res.status === 403 || failures >= MAX_VERIFY_FAILURES) {
      this.takeAsReceived(machine, item, error);
      return;
    }
    this.verifyFailures.set(item.id, failures);
    this.noteFailure(error, res.outcome === 'retry' ? res.code : undefined);
  }

  /** The old rule, when the MES cannot tell: a second downtime is worse than a missed one, which the next transition corrects. */
  private takeAsReceived(machine: string, item: StartStopItem, error: string): void {
    this.verifyFailures.delete(item.id);
    this.o.outbox.startStopUncertain(machine, item, this.o.clock.now());
    this.o.logger.warn(
      { event: 'startstop.unverifiable', machine, type: item.type, running: item.running, error },
      `could not ask the MES whether the ${machine} run/stop arrived (${error}); taken as received, not sent again`,
    );
  }

  private async sendCounter(machine: string): Promise<void> {
    const { outbox, clock, client } = this.o;
    const pending = outbox.pendingCounters(machine);
    if (pending.length === 0) return;
    const unsure = this.nextUnsurePart(machine, pending);
    // After a combined refusal, one part per request finds the part the MES refuses (an
    // unknown waste code, say) without holding back the good-parts count.
    const isolating = unsure === undefined && (this.isolate.get(machine) ?? 0) > clock.now();
    // Parameters no longer ride along then; every other turn is theirs so they do not starve.
    if (isolating && this.paramsTurn.delete(machine) && outbox.pendingParameters(machine).length > 0) return this.sendParameters(machine);
    if (isolating) this.paramsTurn.add(machine);
    const values = unsure ? [unsure] : isolating ? [this.nextPart(machine, pending)] : pending;
    const params = unsure || isolating ? [] : outbox.pendingParameters(machine);
    const before = new Map(values.map((v) => [v.signal, outbox.sentBefore(machine, v.signal)]));
    const body = counterBody(values, params);
    // Written after the rate budget let it go and before the request leaves: after a crash we
    // know this value may have arrived.
    const res = await client.counter(machine, body, () => outbox.markAttempt(machine, values));
    this.count('counter', res);
    const now = clock.now();
    if (res.outcome === 'ok') {
      outbox.counterDelivered(machine, values, params, body, now);
      this.countDelivered(machine, values, before);
      this.o.logger.info({ event: 'mes.delivered', kind: 'counter', machine, ...body }, 'delivered counter');
      return;
    }
    if (res.outcome !== 'rejected') {
      // A 429 or refused credentials are certain non-deliveries; a timeout is not.
      if (res.outcome !== 'retry') outbox.counterRefused(machine, values, before);
      return this.handleFailure(
        res,
        params.map((p) => p.id),
      );
    }
    const { rejection } = res;
    // "Not greater" for a value we had already put on the wire: the MES most likely got it
    // and we crashed (or timed out) before hearing so. The next, larger value settles it.
    const resent = rejection === 'not-greater' ? values.filter((v) => v.total <= before.get(v.signal)!.attempted) : [];
    if (resent.length > 0 && values.length > 1) {
      // The MES refuses the whole request for one part, and which one it has is not known: a
      // part whose last attempt never arrived would be lost if settled with the others. Each
      // part that may have arrived goes alone, where a "not greater" can only be about it.
      outbox.counterRefused(machine, values, before);
      this.unsure.set(machine, new Set(resent.map((v) => v.signal)));
      this.o.logger.warn(
        { event: 'counter.unsure', machine, body, reason: res.reason, parts: resent.map((v) => v.signal) },
        'MES refused a re-sent combined counter as not greater; sending the parts it may have one by one',
      );
      return;
    }
    if (resent.length > 0) {
      outbox.counterDelivered(machine, resent, [], body, now, 'settled');
      this.countDelivered(machine, resent, before);
      this.o.logger.warn({ event: 'counter.settled', machine, body, reason: res.reason }, 'MES refused a value already sent before; taken as delivered');
      return;
    }
    if (!isolating && values.length + params.length > 1) {
      outbox.counterRefused(machine, values, before);
      this.isolate.set(machine, now + ISOLATE_MS);
      this.o.logger.warn(
        { event: 'counter.isolated', machine, body, reason: res.reason, rejection },
        'MES refused a combined counter; sending its parts one by one',
      );
      return;
    }
    let reason = res.reason;
    if (rejection === 'not-greater') {
      reason =
        `${res.reason} — the MES is ahead of this gateway (state lost or counter set elsewhere?). ` +
        `Run: shopfloor-gateway rebase ${machine} <value the MES shows>`;
      this.o.logger.error(
        { event: 'mes.ahead', machine, body, reason: res.reason },
        `MES counter is ahead of the gateway for ${machine}: run "shopfloor-gateway rebase ${machine} <MES value>"`,
      );
    }
    const id = outbox.counterDead(machine, values, before, body, res.status, reason, now);
    this.deadLettered('counter', machine, id, res, reason, body);
  }

  /** Records an answer; if the disk refuses, it is kept and recorded first next time, never sent again. */
  private settle(machine: string, record: () => void): void {
    this.unsettled.set(machine, record);
    record();
    this.unsettled.delete(machine);
  }

  /** A part still at or below its last attempt among those a combined "not greater" may have been about; forgets them when none is left. */
  private nextUnsurePart(machine: string, pending: CounterValue[]): CounterValue | undefined {
    const signals = this.unsure.get(machine);
    if (!signals) return undefined;
    const part = pending.find((v) => signals.has(v.signal) && v.total <= this.o.outbox.sentBefore(machine, v.signal).attempted);
    if (!part) this.unsure.delete(machine);
    return part;
  }

  /** The next pending counter part after the one sent last, so every part gets its turn. */
  private nextPart(machine: string, pending: CounterValue[]): CounterValue {
    const last = this.lastPart.get(machine);
    const part = pending.find((v) => last === undefined || v.signal > last) ?? pending[0];
    this.lastPart.set(machine, part.signal);
    return part;
  }

  private async sendParameters(machine: string): Promise<void> {
    const { outbox, clock, client } = this.o;
    const params = outbox.pendingParameters(machine);
    if (params.length === 0) return;
    const body = parametersBody(params);
    const res = await client.parameters(machine, body);
    this.count('parameters', res);
    if (res.outcome === 'ok') {
      outbox.parametersDelivered(machine, params, body, clock.now());
      this.o.logger.info({ event: 'mes.delivered', kind: 'parameters', machine, ...body }, 'delivered parameters');
    } else if (res.outcome === 'rejected') {
      const id = outbox.parametersDead(machine, params, body, res.status, res.reason, clock.now());
      this.deadLettered('parameters', machine, id, res, res.reason, body);
    } else
      this.handleFailure(
        res,
        params.map((p) => p.id),
      );
  }

  private countDelivered(machine: string, values: CounterValue[], before: Map<string, { delivered: number }>): void {
    for (const v of values) {
      const added = v.total - before.get(v.signal)!.delivered;
      if (added <= 0) continue;
      if (v.signal === 'count') this.stats.deliveredParts[machine] = (this.stats.deliveredParts[machine] ?? 0) + added;
      else {
        const key = `${machine} ${v.signal.slice(6)}`;
        this.stats.deliveredWaste[key] = (this.stats.deliveredWaste[key] ?? 0) + added;
      }
    }
  }

  private count(endpoint: MesKind | 'downtimes', res: MesResult | DowntimesResult): void {
    if (res.outcome === 'ok' || res.outcome === 'rejected') this.health.authProblem = undefined;
    const key = `${endpoint} ${'status' in res && res.status !== undefined ? res.status : 0}`;
    this.stats.requests[key] = (this.stats.requests[key] ?? 0) + 1;
    if (res.outcome === 'ok' || res.outcome === 'rejected') {
      this.failures = 0;
      this.health.reachable = true;
      this.health.lastOkAt = this.o.clock.now();
      this.health.pausedUntil = undefined;
      this.health.rateLimit = undefined;
    }
  }

  /** `reason` is the MES's, with the gateway's hint when it has one. */
  private deadLettered(kind: MesKind, machine: string, id: number, res: Extract<MesResult, { outcome: 'rejected' }>, reason: string, body: unknown): void {
    this.o.logger.error(
      { event: 'mes.dead_letter', machine, kind, status: res.status, rejection: res.rejection, reason, body, deadLetter: id },
      `MES refused ${kind} for ${machine}; kept as dead letter ${id}`,
    );
  }

  private handleFailure(res: Exclude<MesResult, { outcome: 'ok' | 'rejected' }>, ids: number[]): void {
    const { clock, logger } = this.o;
    if (res.outcome === 'rate-limited') {
      this.stats.rateLimited++;
      logger.warn({ event: 'mes.rate_limited', retryAfterMs: res.retryAfterMs }, 'MES rate limit reached (429); pausing all sends');
      const until = this.pauseForMes(res.retryAfterMs);
      this.o.savePause?.(until);
      return;
    }
    if (res.outcome === 'unauthorized') {
      this.authProblemAt = clock.now();
      this.health.authProblem = `MES refused the credentials (${res.status}): ${res.reason}. Sending stopped; fix prodsmart.auth (or the API key in the MES) and save gateway.yaml; one request every 15 min checks again.`;
      this.health.lastError = this.health.authProblem;
      this.health.lastErrorCode = undefined;
      this.health.lastErrorAt = clock.now();
      logger.error({ event: 'mes.auth_refused', status: res.status }, this.health.authProblem);
      return;
    }
    this.o.outbox.failed(ids, res.error);
    this.noteFailure(res.error, res.code);
  }

  /**
   * A 429 pause: the limit is company-wide, so every send waits, not just this machine's.
   * Cut to MAX_PAUSE_MS. Returns when it ends.
   */
  private pauseForMes(askedMs: number): number {
    const now = this.o.clock.now();
    const until = now + Math.min(askedMs, MAX_PAUSE_MS);
    this.o.budget.pauseUntil(until);
    this.health.pausedUntil = until;
    this.health.rateLimit = { since: now, until, askedMs, capMs: MAX_PAUSE_MS };
    if (askedMs > MAX_PAUSE_MS) {
      this.o.logger.warn(
        { event: 'mes.pause_capped', askedMs, pausedMs: until - now, until: new Date(until).toISOString() },
        `MES asked to wait ${Math.round(askedMs / 1000)} s; pausing ${MAX_PAUSE_MS / 60_000} min at most`,
      );
    }
    return until;
  }

  /** `code`: the transport error's, when no HTTP answer came (see MesResult). */
  private noteFailure(error: string, code?: string): void {
    const { clock, logger } = this.o;
    const delay = backoffDelay(this.failures++, BACKOFF.uplink, this.o.random);
    this.health.reachable = false;
    this.health.lastError = error;
    this.health.lastErrorCode = code;
    this.health.lastErrorAt = clock.now();
    this.health.pausedUntil = clock.now() + delay;
    logger.warn({ event: 'mes.unreachable', error, code, retryInMs: Math.round(delay) }, 'MES not reachable; backing off');
  }
}
