/**
 * What the gateway tells the outside (status page, /api/status, /metrics). The web layer
 * only reads this; the gateway builds it. Secrets never enter it.
 */
export interface GatewayStatus {
  version: string;
  startedAt: number;
  now: number;
  mes: {
    baseUrl: string;
    /** null until the first answer. */
    reachable: boolean | null;
    lastOkAt?: number;
    lastError?: string;
    /** The transport error's code of the last failure without an HTTP answer (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`, ...). */
    lastErrorCode?: string;
    lastErrorAt?: number;
    /** Sending is paused until then (429 Retry-After or backoff). */
    pausedUntil?: number;
    /**
     * The MES's last 429 pause, until an answer ends it. `askedMs` is its Retry-After; a
     * pause longer than `capMs` was cut to it (`until - since` < `askedMs`).
     */
    rateLimit?: { since: number; until: number; askedMs: number; capMs: number };
    /** Set when credentials are refused with Basic auth: sending has stopped. */
    authProblem?: string;
  };
  /** The database at storage.path: `full` (disk full or I/O error), `corrupt`, or another SQLite `error`. */
  storage: { path: string; state: 'ok' | 'full' | 'corrupt' | 'error'; since?: number; lastError?: string; failures?: number };
  /** This gateway's sends; `shared` when it takes part in a company budget on Redis. */
  budget: { perMinute: number; usedLastMinute: number; shared?: SharedBudgetStatus };
  outbox: { pending: number; deadLetters: number; oldestPendingAt?: number };
  deadLetters: DeadLetterView[];
  devices: DeviceStatus[];
  machines: MachineStatus[];
  /** Cumulative since start, for Prometheus counters. */
  stats: {
    /** key `${endpoint} ${status}`, status 0 for no answer (timeout, connection error). */
    requests: Record<string, number>;
    rateLimited: number;
    /** Parts delivered to the MES (accepted increments), by machine. */
    deliveredParts: Record<string, number>;
    /** Waste delivered, key `${machine} ${wasteCode}`. */
    deliveredWaste: Record<string, number>;
  };
  /** Problems of the last configuration (re)load; the running config stays as it was. */
  config: { loadedAt: number; errors: string[] };
}

/** The company budget shared through Redis, as this gateway sees it (docs/rate-budget.md#several-gateways). */
export interface SharedBudgetStatus {
  key: string;
  /** The Redis URL without its password. */
  redis: string;
  /** `connecting` until Redis first answered or failed; `fallback`: sending on `fallbackPerMinute` alone. */
  state: 'connecting' | 'shared' | 'fallback';
  /** Why on the fallback share: the error's code (`SFG_BUDGET_UNREACHABLE`, `SFG_BUDGET_TIMEOUT`, `SFG_BUDGET_AUTH`, `SFG_BUDGET_TLS`, `SFG_BUDGET_REDIS`). */
  reason?: string;
  /** Since when in this state. */
  since: number;
  /** prodsmart.sharedBudget.requestsPerMinute. */
  companyPerMinute: number;
  fallbackPerMinute: number;
  /** As Redis last answered (at `seenAt`): the company's sends of the last 60 s, all gateways. */
  companyUsedLastMinute?: number;
  /** The company figure less the fallback shares held for gateways whose heartbeat lapsed. */
  companyLimit?: number;
  gateways?: number;
  /**
   * The fallback shares kept out of the company figure for gateways not heard from (their
   * heartbeat lapsed: cut off from Redis, or crashed) for up to 15 min each, then 1/min each
   * for up to 7 days, and how many.
   */
  reservedPerMinute?: number;
  gatewaysAway?: number;
  /**
   * Every known gateway's fallback share (prodsmart.requestsPerMinute), summed: what they may
   * send together with Redis gone for all; above `companyPerMinute` it would be exceeded.
   */
  fallbackSharesPerMinute?: number;
  /**
   * On the fallback share, by the time since Redis last answered: `share` (fallbackPerMinute),
   * then `trickle` (1/min: the others no longer keep its share free), then `stopped` (nothing
   * sent: nothing is kept free for it any more) (docs/rate-budget.md#one-gateway-cut-off).
   */
  fallbackStep?: 'share' | 'trickle' | 'stopped';
  /** When Redis last answered this gateway (the start of that call), kept across restarts. */
  answeredAt?: number;
  /** This gateway's requests per minute now: its part of the company figure by its machines waiting against everyone's; on the fallback share, by its step. */
  sharePerMinute?: number;
  seenAt?: number;
  /** A 429 seen by any gateway pauses every gateway until then. */
  pausedUntil?: number;
}

interface DeadLetterView {
  id: number;
  machine: string;
  kind: 'counter' | 'parameters' | 'startstop';
  body: unknown;
  status: number;
  reason: string;
  at: number;
}

export interface DeviceStatus {
  id: string;
  protocol: string;
  state: 'connecting' | 'connected' | 'disconnected';
  /** Its polling waits while commissioning scans the serial line it is on. */
  paused?: 'commissioning';
  lastGoodReadAt?: number;
  lastError?: string;
  lastErrorAt?: number;
  /** Bad values and failed reads, per signal, cumulative. */
  signalErrors: { machine: string; signal: string; count: number; lastMessage: string; lastAt: number }[];
}

export interface MachineStatus {
  code: string;
  device: string;
  /** Last decoded value per signal key. */
  values: Record<string, { value: number | boolean | string; at: number }>;
  /** Guarded totals: `count` and `waste:<code>`. */
  totals: Record<string, { total: number; delivered: number }>;
  pending: number;
  run: { running: boolean | null; type?: string; since?: number };
  /**
   * Run/stop transitions of the last hours, oldest first; `sent: false` for ones collapsed
   * offline or still queued; `uncertain` for one sent without an answer (taken as received).
   */
  timeline: { at: number; running: boolean; type?: string; sent: boolean; uncertain?: true }[];
  /** Delivered-total samples (about one a minute) for the production-rate plot. */
  production: { at: number; total: number }[];
}

export interface StatusProvider {
  status(): GatewayStatus;
  /** Called whenever something visible changed (throttled by the caller as it likes). */
  onChange(listener: () => void): () => void;
  retryDeadLetter(id: number): boolean;
  dropDeadLetter(id: number): boolean;
}

export type StorageStatus = GatewayStatus['storage'];
export type StorageFault = Exclude<StorageStatus['state'], 'ok'>;

/** A storage fault in a few words, the same in the log, on the page and in /healthz. */
export function faultLabel(fault: StorageFault): string {
  return { full: 'storage full', corrupt: 'storage corrupt', error: 'storage failing' }[fault];
}
