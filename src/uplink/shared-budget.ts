/**
 * The company's budget, shared by several gateways through Redis
 * (docs/rate-budget.md#several-gateways). Redis decides every send (budget-script.ts);
 * this side reports the gateway's demand, waits where Redis says, and whenever Redis
 * cannot answer falls back to a RateBudget of its own at the fallback share
 * (`prodsmart.requestsPerMinute`), then returns to the shared one by itself.
 *
 * The rules at each switch (why: docs/rate-budget.md#switching):
 * - to the fallback: at once when Redis cannot be reached or refuses; on timeouts only when
 *   no call has succeeded for `patienceMs` (a healthy Redis's answer comes late now and then
 *   on a loaded machine). The local budget keeps the spacing from this gateway's last send
 *   (request_log), and its first send waits until the others must have seen this gateway's
 *   heartbeat lapse (holdMs), so that they already keep its fallback share free;
 * - back, and on finding Redis empty: `join` re-registers this gateway's sends of the last
 *   span (timed conservatively: age taken before the call, so Redis places them no
 *   earlier than they were), before anything is sent on the shared budget again.
 *
 * On the fallback share for long, it steps down to what Redis still keeps free for it
 * (budget-script.ts): `share`, then `trickle` (1/min), then `stopped` — see `stepAt`.
 */
import type { Logger } from 'pino';
import { sleep, type Clock } from '../core/clock.js';
import { errorCode, GatewayError } from '../core/errors.js';
import type { SharedBudgetStatus } from '../core/status.js';
import type { BudgetRedis } from './budget-redis.js';
import { FORGET_MS, GRACE_MS, LAPSE_MS, RESERVE_MS, type BudgetReply } from './budget-script.js';
import { RateBudget, SPAN_MS, type Answered, type SendBudget } from './rate-budget.js';

/** Liveness and demand go to Redis this often, also while idle or waiting. */
const BEAT_MS = 1_000;
/** A wait in Redis is re-asked at least this often, so demand and a new pause are seen. */
const POLL_MS = 1_000;
const WINDOW_MS = 60_000;
/**
 * Timeouts in a row are retried this long before the gateway falls back: under CPU load (five
 * gateways on two cores) one answer of a healthy Redis comes after the 300 ms command timeout
 * now and then, and each such fallback cost the gateway's machines 3.25 s of silence. A Redis
 * that answers in 1 s still counts as down, after about 1 s. Nothing is sent meanwhile.
 */
const PATIENCE_MS = 1_000;
/** Between two tries of a call that timed out. */
const RETRY_MS = 100;
/** While on the shared budget, when Redis last answered is written at most this often (SD card: not once a beat). */
const STORE_SHARED_MS = 60_000;
/** On a switch to the fallback share: a Redis that comes and goes writes at most this often. */
const STORE_SWITCH_MS = 5_000;

export interface SharedBudgetTiming {
  spanMs: number;
  lapseMs: number;
  reserveMs: number;
  graceMs: number;
  beatMs: number;
  patienceMs: number;
  forgetMs: number;
}

const SHARED_TIMING: SharedBudgetTiming = {
  spanMs: SPAN_MS,
  lapseMs: LAPSE_MS,
  reserveMs: RESERVE_MS,
  graceMs: GRACE_MS,
  beatMs: BEAT_MS,
  patienceMs: PATIENCE_MS,
  forgetMs: FORGET_MS,
};

export interface SharedBudgetOptions {
  key: string;
  /** For the status page: without its password. */
  redisShown: string;
  companyPerMinute: number;
  fallbackPerMinute: number;
  clock: Clock;
  logger: Logger;
  /** Connects to Redis (ioredis is loaded then, not before). */
  connect: () => Promise<BudgetRedis>;
  /** This gateway's send (or answer) times since `from`, oldest first: request_log. */
  recentSends: (from: number) => number[];
  /** Machines with work waiting: this gateway's claim on the company budget. */
  demand: () => number;
  /** When Redis last answered (see `answeredAt` below), kept across restarts (kv). */
  answeredStore?: { get(): number | undefined; put(at: number): void };
  onChange?: () => void;
  /** Shorter spans and lapses for tests; the defaults are the contract. */
  timing?: Partial<SharedBudgetTiming>;
}

type Mode = SharedBudgetStatus['state'];
type Step = NonNullable<SharedBudgetStatus['fallbackStep']>;

class StoppedError extends GatewayError<'SFG_BUDGET_STOPPED'> {}

export class SharedBudget implements SendBudget {
  private readonly t: SharedBudgetTiming;
  private readonly holdMs: number;
  private redis: BudgetRedis | undefined;
  private readonly ready: Promise<void>;
  private mode: Mode = 'connecting';
  private reason: string | undefined;
  private since: number;
  private fallback: RateBudget | undefined;
  private step: Step = 'share';
  /** Nothing is sent on the fallback share before this: the hold at the switch, or a pause then. */
  private fallbackHoldUntil = 0;
  /** From this long after `answeredAt`, the trickle; from `stopAfterMs`, nothing (see `stepAt`). */
  private readonly trickleAfterMs: number;
  private readonly stopAfterMs: number;
  /**
   * The start of the last call Redis answered that refreshes `seen` (Redis ran it at or
   * after that start). Before Redis ever answered this gateway: its first start with the
   * shared budget (see the constructor).
   */
  private answeredAt: number;
  /** The value last written to `o.answeredStore`. */
  private storedAt: number | undefined;
  /** The clock's last reading, to see it step back. */
  private clockAt: number;
  private last: { reply: BudgetReply; at: number } | undefined;
  private fallbacksOver = false;
  private localPauseUntil = 0;
  private companyPauseUntil = 0;
  /** When Redis expects this gateway's next grant, as it last answered. */
  private nextAt = 0;
  private readonly sent: number[] = [];
  /** Settles when the request before has its slot (see `acquire`). */
  private turns: Promise<void> = Promise.resolve();
  private joining: Promise<void> | undefined;
  /** Since when every call timed out (undefined after a call that succeeded). */
  private failingSince: number | undefined;
  private beatTimer: unknown;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly o: SharedBudgetOptions) {
    this.t = { ...SHARED_TIMING, ...o.timing };
    // The others count this gateway as lapsed LAPSE after its last call; a little more for rounding.
    this.holdMs = this.t.lapseMs + 250;
    // Why these boundaries: docs/rate-budget.md#one-gateway-cut-off. Redis ran the call at or
    // after `answeredAt` (a join sets `seen` a lapse before it: within the hold), so it keeps
    // the full share until at least answeredAt - hold + reserve, by its clock; 1 % of the
    // length for the clocks' rates. A send leaves the company's window a span after it, so
    // the last one at the full share goes a span before that; the same for the trickle at forget.
    this.trickleAfterMs = Math.max(0, this.t.reserveMs - (this.t.spanMs + this.holdMs + this.t.reserveMs / 100));
    this.stopAfterMs = Math.max(0, this.t.forgetMs - (this.t.spanMs + this.holdMs + this.t.forgetMs / 100));
    const now = o.clock.now();
    this.since = now;
    this.clockAt = now;
    const stored = o.answeredStore?.get();
    this.storedAt = stored;
    // A stored time ahead of now: the wall clock went back across the restart, by an unknown
    // amount; counted as past the full share, so that it cannot lengthen it.
    // Never answered (Redis unreachable since its first start): Redis may keep nothing for it
    // while the others use the whole figure, or be down for all; held to the same steps from
    // that first start, stored, so that a restart does not begin them again.
    this.answeredAt = stored === undefined ? now : stored > now ? now - this.trickleAfterMs : stored;
    if (stored === undefined) this.store(0);
    this.ready = o.connect().then(
      async (redis) => {
        this.redis = redis;
        await this.join();
        this.scheduleBeat();
      },
      (err: unknown) => this.toFallback(err),
    );
  }

  /**
   * On the shared budget: until the slot Redis last named (the next grant, or the wait of the
   * request now asking), so that the uploader picks its next machine — a run/stop first —
   * when that slot comes, not long before it.
   */
  delayMs(): number {
    const now = this.o.clock.now();
    const pause = Math.max(this.localPauseUntil, this.companyPauseUntil) - now;
    if (this.mode !== 'fallback') return Math.max(0, pause, this.nextAt - now);
    this.syncStep();
    return Math.max(0, pause, this.fallback ? this.fallback.delayMs() : POLL_MS);
  }

  /**
   * One request at a time asks Redis, the others wait their turn here: the uploader picked
   * their machines in round-robin order, and racing each other for the grants would let one
   * machine lose to the ones picked after it, again and again.
   */
  async acquire(signal?: AbortSignal): Promise<Answered> {
    const turn = this.turns;
    let done!: () => void;
    this.turns = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await turn;
      return await this.acquireInTurn(signal);
    } finally {
      done();
    }
  }

  private async acquireInTurn(callerSignal?: AbortSignal): Promise<Answered> {
    const { clock } = this.o;
    const signal = callerSignal ? AbortSignal.any([callerSignal, this.stopping.signal]) : this.stopping.signal;
    await this.ready;
    for (;;) {
      signal.throwIfAborted();
      if (this.mode !== 'shared') {
        this.syncStep();
        // Stopped: nothing is sent (the outbox keeps it) until Redis answers again, or stop().
        const fallback = this.fallback;
        const wait = fallback ? fallback.delayMs() : POLL_MS;
        if (fallback && wait === 0) return this.took(fallback.take());
        await sleep(clock, Math.min(wait, POLL_MS), signal);
        continue;
      }
      const paused = Math.max(this.localPauseUntil, this.companyPauseUntil) - clock.now();
      if (paused > 0) {
        await sleep(clock, Math.min(paused, POLL_MS), signal);
        continue;
      }
      const reply = await this.call('acquire', [Math.max(1, this.o.demand())]);
      // A grant that came back after this gateway went to its fallback share is left unused.
      if (this.mode !== 'shared') continue;
      if (reply === undefined) {
        await sleep(clock, RETRY_MS, signal);
        continue;
      }
      if (reply.status === 'join') {
        await this.join();
        continue;
      }
      if (reply.status === 'granted') {
        const member = reply.member;
        return this.took(() => this.answered(member));
      }
      await sleep(clock, Math.min(Math.max(1, reply.waitMs), POLL_MS), signal);
    }
  }

  pauseUntil(t: number): void {
    this.localPauseUntil = Math.max(this.localPauseUntil, t);
    this.fallback?.pauseUntil(t);
    if (this.mode === 'shared') void this.call('pause', [Math.max(0, t - this.o.clock.now())]);
  }

  usedLastMinute(): number {
    this.prune(this.o.clock.now());
    return this.sent.length;
  }

  status(): SharedBudgetStatus {
    const { o, last } = this;
    if (this.mode === 'fallback') this.syncStep();
    const fallbackShare = { share: o.fallbackPerMinute, trickle: 1, stopped: 0 }[this.step];
    const paused = Math.max(this.companyPauseUntil, this.localPauseUntil);
    return {
      key: o.key,
      redis: o.redisShown,
      state: this.mode,
      reason: this.reason,
      since: this.since,
      companyPerMinute: o.companyPerMinute,
      fallbackPerMinute: o.fallbackPerMinute,
      ...(last && {
        companyUsedLastMinute: last.reply.used,
        companyLimit: last.reply.limit,
        gateways: last.reply.gateways,
        reservedPerMinute: last.reply.reserved,
        gatewaysAway: last.reply.away,
        fallbackSharesPerMinute: last.reply.fallbacks,
        seenAt: last.at,
      }),
      ...(this.mode === 'fallback' && { fallbackStep: this.step }),
      answeredAt: this.answeredAt,
      sharePerMinute: this.mode === 'shared' ? last?.reply.share : this.mode === 'fallback' ? fallbackShare : o.fallbackPerMinute,
      pausedUntil: paused > o.clock.now() ? paused : undefined,
    };
  }

  /**
   * Ends the waits for a slot (they reject with SFG_BUDGET_STOPPED: a company pause may last
   * 15 min), stops the heartbeat and leaves the company budget, so that no share is kept for
   * this gateway: also when on the fallback share (Redis may hear a late call, or be back),
   * one try, its failure only logged.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new StoppedError('SFG_BUDGET_STOPPED', 'the shared budget stopped while waiting for a slot'));
    this.o.clock.clearTimeout(this.beatTimer);
    await this.ready;
    await this.joining;
    this.store(0);
    if (this.redis) {
      await this.redis.run('leave', []).then(
        () => this.o.logger.info({ event: 'budget.left', key: this.o.key }, 'left the company budget: no share is kept for this gateway'),
        (err: unknown) =>
          this.o.logger.warn(
            { event: 'budget.leave_failed', code: errorCode(err), err: (err as Error)?.message },
            `could not leave the company budget: the others keep its fallback share free for up to ${Math.round(this.t.reserveMs / 60_000)} min`,
          ),
      );
    }
    await this.redis?.close();
  }

  /** One call to Redis; undefined when it failed (see `failed`: this gateway may now be on its fallback share). */
  private async call(op: 'acquire' | 'beat' | 'pause', args: (string | number)[]): Promise<BudgetReply | undefined> {
    const start = this.o.clock.now();
    try {
      const reply = await this.redis!.run(op, args);
      this.failingSince = undefined;
      // A `pause` answers only 'ok' (no figures) and does not refresh this gateway's `seen` in Redis.
      if (reply.status !== 'join' && op !== 'pause') this.note(reply, start);
      return reply;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  /** A call failed: to the fallback share, unless it timed out and calls have been failing for less than the patience. */
  private failed(err: unknown): void {
    const now = this.o.clock.now();
    if (errorCode(err) === 'SFG_BUDGET_TIMEOUT' && this.mode === 'shared') {
      this.failingSince ??= now;
      if (now - this.failingSince < this.t.patienceMs) return;
    }
    this.failingSince = undefined;
    this.toFallback(err);
  }

  /** Registers this gateway and its sends of the last span; on success the shared budget decides again. */
  private join(): Promise<void> {
    // A call answered after `leave` (a beat or acquire on the wire at stop) must not register it again: a ghost kept for 15 min.
    if (this.stopped) return Promise.resolve();
    this.joining ??= (async () => {
      const { o } = this;
      const { clock } = o;
      const now = clock.now();
      const ages = o.recentSends(now - this.t.spanMs).map((at) => Math.max(0, now - at));
      const pauseMs = Math.max(0, this.localPauseUntil - now);
      try {
        const reply = await this.redis!.run('join', [o.fallbackPerMinute, pauseMs, ...ages]);
        this.failingSince = undefined;
        this.note(reply, now);
        this.toShared(reply);
      } catch (err) {
        this.failed(err);
      }
    })().finally(() => {
      this.joining = undefined;
    });
    return this.joining;
  }

  private answered(member: string): void {
    if (this.mode === 'shared' && !this.stopped) void this.redis!.run('answered', [member]).catch((err: unknown) => this.failed(err));
  }

  private took(answered: Answered): Answered {
    const now = this.o.clock.now();
    this.prune(now);
    this.sent.push(now);
    return answered;
  }

  /** An answer of Redis with the company's figures (join, beat, acquire: each refreshes `seen`); `start`: when its call began. */
  private note(reply: BudgetReply, start: number): void {
    const now = this.o.clock.now();
    this.away();
    this.checkFallbacks(reply.fallbacks);
    if (start > this.answeredAt) {
      this.answeredAt = start;
      if (this.mode === 'shared') this.store(STORE_SHARED_MS);
    }
    this.last = { reply, at: now };
    this.companyPauseUntil = reply.pauseMs > 0 ? now + reply.pauseMs : 0;
    if (reply.status === 'granted' || reply.status === 'wait') this.nextAt = now + reply.waitMs;
  }

  /**
   * With Redis gone for every gateway, each sends on its fallback share: their sum must stay
   * within the company figure (docs/rate-budget.md#choosing-the-figures), which no one file
   * can check. Logged once each time the sum goes over.
   */
  private checkFallbacks(sum: number): void {
    const { companyPerMinute, logger } = this.o;
    const over = sum > companyPerMinute;
    if (over && !this.fallbacksOver) {
      logger.warn(
        { event: 'budget.fallback_shares_over', fallbackSharesPerMinute: sum, companyPerMinute },
        `the fallback shares (prodsmart.requestsPerMinute) of the gateways on this company budget add up to ${sum}/min, more than the company's ${companyPerMinute}/min: with Redis gone for all, they would exceed it; lower them`,
      );
    }
    this.fallbacksOver = over;
  }

  private toShared(reply: BudgetReply): void {
    if (this.mode === 'shared') return;
    this.mode = 'shared';
    this.reason = undefined;
    this.fallback = undefined;
    this.step = 'share';
    this.since = this.o.clock.now();
    this.o.logger.info(
      { event: 'budget.shared_joined', key: this.o.key, gateways: reply.gateways, companyLimit: reply.limit },
      'taking part in the company budget on Redis',
    );
    this.o.onChange?.();
  }

  private toFallback(err: unknown): void {
    const code = errorCode(err) ?? 'SFG_BUDGET_REDIS';
    if (this.mode === 'fallback') {
      this.reason = code;
      return;
    }
    const { o } = this;
    const { clock } = o;
    const now = clock.now();
    // The spacing from its last send, but not the window of its shared sends: at a share far
    // above the fallback one, that window stalled the first fallback send for up to a
    // minute. The company's window still holds (docs/rate-budget.md#switching): the others
    // count those sends in Redis, and this gateway's sends before and after the switch are
    // apart by the hold and spaced at most at the company's rate and its fallback share.
    this.fallbackHoldUntil = Math.max(now + this.holdMs, this.localPauseUntil, this.companyPauseUntil);
    this.mode = 'fallback';
    this.reason = code;
    this.since = now;
    this.step = 'share';
    this.fallback = this.localBudget(o.fallbackPerMinute);
    this.store(STORE_SWITCH_MS);
    o.logger.warn(
      { event: 'budget.fallback', code, fallbackPerMinute: o.fallbackPerMinute, err: (err as Error)?.message },
      `company budget on Redis unavailable; sending on this gateway's fallback share of ${o.fallbackPerMinute}/min`,
    );
    this.syncStep();
    o.onChange?.();
  }

  /** A budget of its own at `perMinute`, spaced from this gateway's last send and held as at the switch. */
  private localBudget(perMinute: number): RateBudget {
    const { clock } = this.o;
    const budget = new RateBudget({ perMinute, clock, history: this.o.recentSends(clock.now() - SPAN_MS).slice(-1) });
    budget.pauseUntil(Math.max(this.fallbackHoldUntil, this.localPauseUntil));
    return budget;
  }

  /** The step on the fallback share `away` ms after `answeredAt` (docs/rate-budget.md#one-gateway-cut-off). */
  private stepAt(away: number): Step {
    return away >= this.stopAfterMs ? 'stopped' : away >= this.trickleAfterMs ? 'trickle' : 'share';
  }

  /** Time since `answeredAt`; a clock stepped back moves `answeredAt` back with it, so that it never shrinks. */
  private away(): number {
    const now = this.o.clock.now();
    if (now < this.clockAt) this.answeredAt -= this.clockAt - now;
    this.clockAt = now;
    return now - this.answeredAt;
  }

  /** On the fallback share: moves on to the step its time away calls for (never back: only a join resets it). */
  private syncStep(): void {
    const step = this.stepAt(this.away());
    if (step === this.step || (this.step === 'stopped' && step !== 'stopped')) return;
    const { o } = this;
    const awayMin = Math.round(this.away() / 60_000);
    if (step === 'trickle' && this.step === 'share') {
      this.fallback = this.localBudget(1);
      o.logger.warn(
        { event: 'budget.fallback_trickle', fallbackPerMinute: o.fallbackPerMinute, awayMin },
        `no answer from the company budget on Redis for ${awayMin} min: the others no longer keep this gateway's share free; sending 1 request per minute`,
      );
    } else if (step === 'stopped') {
      this.fallback = undefined;
      o.logger.error(
        { event: 'budget.fallback_stopped', awayMin },
        `no answer from the company budget on Redis for ${awayMin} min: the others no longer keep anything free for this gateway; sending stopped, the outbox keeps everything`,
      );
    } else return;
    this.step = step;
    o.onChange?.();
  }

  /** Writes `answeredAt` to `o.answeredStore` unless the value written is less than `everyMs` older. */
  private store(everyMs: number): void {
    const at = this.answeredAt;
    if (!this.o.answeredStore) return;
    const since = at - (this.storedAt ?? -Infinity);
    if (since === 0 || (since > 0 && since < everyMs)) return;
    this.o.answeredStore.put(at);
    this.storedAt = at;
  }

  private scheduleBeat(): void {
    if (this.stopped) return;
    this.beatTimer = this.o.clock.setTimeout(() => void this.beat().finally(() => this.scheduleBeat()), this.t.beatMs);
  }

  /** Keeps this gateway live in Redis with its demand; on the fallback share, tries to come back. */
  private async beat(): Promise<void> {
    if (this.stopped) return;
    if (this.mode !== 'shared') {
      this.syncStep();
      return this.join();
    }
    const reply = await this.call('beat', [this.o.demand()]);
    if (reply?.status === 'join') await this.join();
  }

  private prune(now: number): void {
    while (this.sent.length > 0 && this.sent[0] <= now - WINDOW_MS) this.sent.shift();
  }
}
