/**
 * The one retry policy of the gateway: after the n-th failure in a row, wait a delay whose
 * ceiling doubles from `firstMs` up to `maxMs`, with part of it random so that many devices
 * (or many gateways of one company) that lost their peer at the same moment do not come
 * back in lockstep. Each component picks its numbers from `BACKOFF`; the random source is
 * passed in (Math.random at the composition root, a fixed one in tests).
 */

/** Uniform numbers in [0, 1). */
export type Random = () => number;

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  firstMs: number;
  /** No delay is ever longer. */
  maxMs: number;
  /** Growth of the ceiling per further failure. */
  factor: number;
  /**
   * The random share of the delay: the delay is uniform in [ceiling × (1 − jitter), ceiling).
   * 0 is no jitter, 1 full jitter (docs/delivery.md#5xx-timeouts-connection-errors).
   */
  jitter: number;
}

/** The numbers of each component; changing one changes only that component. */
export const BACKOFF = {
  /** A PLC that stops answering: the poll loop tries again from 1 s to 30 s, exactly. */
  modbus: { firstMs: 1000, maxMs: 30_000, factor: 2, jitter: 0 },
  /** An OPC UA server: a quick first retry (a session often breaks and comes back at once). */
  opcua: { firstMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 },
  /** An MQTT broker (a restarting broker refuses for a moment, so 2 s first). */
  mqtt: { firstMs: 2000, maxMs: 30_000, factor: 2, jitter: 0.2 },
  /** The MES: full jitter, at most one rate-limit window. */
  uplink: { firstMs: 1000, maxMs: 60_000, factor: 2, jitter: 1 },
} as const satisfies Record<string, BackoffPolicy>;

/**
 * `attempt` counts the retries already made since the last success: 0 for the first (a
 * negative one counts as 0). Whole milliseconds.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  const ceiling = Math.min(policy.maxMs, policy.firstMs * policy.factor ** Math.max(0, attempt));
  return Math.floor(ceiling * (1 - policy.jitter + policy.jitter * random()));
}

/** The failures in a row of one connection, and the delay each calls for. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: Random,
  ) {}

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    return backoffDelay(this.attempt++, this.policy, this.random);
  }

  /** After a success: the next failure waits the first delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
