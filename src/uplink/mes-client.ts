/**
 * HTTP client for the three MES machine endpoints and the downtimes list (docs/mes-api.md). It sends one request and says
 * what the answer means; what to do next (retry, back off, pause, dead-letter) is the
 * uploader's decision. The only retry here is the one after a 401 with a fresh token.
 */
import type { Agent, Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import type { GatewayConfig } from '../config/schema.js';
import { errorCode } from '../core/errors.js';
import type { Answered } from './rate-budget.js';
import { basicAuthorization, TokenKeeper } from './auth.js';
import { machinePath } from './bodies.js';
import { parseDowntimes, type Downtime } from './downtimes.js';
import { rejectionKind, type RejectionKind } from './rejection.js';
import { loadUndiciRequest } from './undici-request.js';

export type MesResult =
  | { outcome: 'ok'; status: number; body: string }
  /** 400 or 422: the MES refused this item; `reason` is its text (masked, cut), `rejection` what it is about. */
  | { outcome: 'rejected'; status: number; reason: string; rejection: RejectionKind }
  | { outcome: 'unauthorized'; status: 401 | 403; reason: string }
  | { outcome: 'rate-limited'; status: 429; retryAfterMs: number }
  /**
   * 5xx, timeout, connection error: worth sending again later. `mayHaveArrived` is false
   * when the MES certainly did not take the request (an HTTP answer, or no connection was
   * made) and true when it may have (no answer after the request could have left). `code`
   * is the transport error's own (undici's `UND_ERR_CONNECT_TIMEOUT`, Node's `ECONNREFUSED`,
   * ...) when no HTTP answer came.
   */
  | { outcome: 'retry'; status?: number; code?: string; error: string; mayHaveArrived: boolean };

export type DowntimesResult = { outcome: 'ok'; status: number; downtimes: Downtime[] } | Exclude<MesResult, { outcome: 'ok' }>;

type ParameterValue = number | string | boolean;
export interface CounterBody {
  count?: number;
  waste?: { code: string; quantity: number }[];
  /** The counter endpoint names parameters by `name`. */
  parameters?: { name: string; value: ParameterValue }[];
}
/** The parameters endpoint names parameters by `code`. */
export interface ParametersBody {
  parameters: { code: string; value: ParameterValue }[];
}
export interface StartStopBody {
  type: string;
  running: 0 | 1;
}

export interface MesClientOptions {
  baseUrl: string;
  auth: GatewayConfig['prodsmart']['auth'];
  /** Limit for the answer's headers and for each pause in its body. */
  timeoutMs: number;
  /**
   * Called before every HTTP request, token requests included: the rate budget. Resolves
   * with what to call once the answer (or the failure) came. Must run `onSend` (the
   * caller's attempt marker) once the budget let the request go, before resolving: the
   * send's record and the marker are one commit (uplink/recorded-acquire.ts).
   */
  acquire: (onSend?: () => void) => Promise<Answered>;
  clock: Clock;
  /** Defaults to an own keep-alive agent, closed by close(). */
  dispatcher?: Dispatcher;
}

/**
 * Errors raised before a connection exists (undici and Node codes): the request never left.
 * Anything else (timeouts after connecting, resets, "other side closed") may come after the
 * MES read the request.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
]);

/** Retry-After when the MES leaves it out: one whole rate-limit window. */
const DEFAULT_RETRY_AFTER_MS = 60_000;
/** MES texts end up on the status page; an HTML error page should not. */
const MAX_REASON_CHARS = 500;
/** undici is the largest module on the way to the status page: it loads with the first request (bench/startup). */
const loadUndici = loadUndiciRequest;

export class MesClient {
  private readonly base: string;
  private dispatcherReady?: Promise<Dispatcher>;
  private ownDispatcher?: Agent;
  private readonly basic: string | undefined;
  private readonly tokens: TokenKeeper | undefined;
  /** Tokens for GET /api/downtimes, which takes no Basic: the machine endpoints' keeper, or one of its own. */
  private readonly readTokens: TokenKeeper | undefined;

  constructor(private readonly opts: MesClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    const { apiKey, apiSecret, tokenAuth } = opts.auth;
    if (apiKey !== undefined && apiSecret !== undefined) this.basic = basicAuthorization(apiKey, apiSecret);
    if (this.basic !== undefined) {
      const keeper = new TokenKeeper((method, body) => this.send(method, '/api/authorization', body, { header: this.basic }), opts.clock);
      if (tokenAuth) this.tokens = keeper;
      this.readTokens = keeper;
    }
  }

  /** Loads undici now, while nothing waits for it, so the first request (often the first count after a start) does not. */
  prepare(): void {
    // A failure is the first request's to report: it awaits the same promise.
    this.dispatcher().catch(() => undefined);
  }

  private dispatcher(): Promise<Dispatcher> {
    this.dispatcherReady ??= this.opts.dispatcher
      ? Promise.resolve(this.opts.dispatcher)
      : // HTTP/1.1 only: dist/ leaves undici's HTTP/2 client out (scripts/build.js); the MES API needs no more.
        loadUndici().then(({ Agent }) => (this.ownDispatcher = new Agent({ allowH2: false, connect: { timeout: this.opts.timeoutMs } })));
    return this.dispatcherReady;
  }

  /** `onSend` as for startstop: the counter's attempt marker. */
  counter(machine: string, body: CounterBody, onSend?: () => void): Promise<MesResult> {
    return this.post(machine, 'counter', body, onSend);
  }

  parameters(machine: string, body: ParametersBody): Promise<MesResult> {
    return this.post(machine, 'parameters', body);
  }

  /** `onSend` runs after the rate budget let the request go and before its bytes leave (the attempt marker). */
  startstop(machine: string, body: StartStopBody, onSend?: () => void): Promise<MesResult> {
    return this.post(machine, 'startstop', body, onSend);
  }

  /** One page of GET /api/downtimes with these filters (docs/mes-api.md#downtimes); always with a token. */
  async downtimes(query: Record<string, string>, page: number): Promise<DowntimesResult> {
    const path = `/api/downtimes?${new URLSearchParams({ ...query, page: String(page) }).toString()}`;
    const fixed = this.opts.auth.accessToken;
    const token = fixed ?? (await this.readTokens!.current());
    if (typeof token !== 'string') return token;
    let res = await this.send('GET', path, undefined, { token });
    if (res.status === 401 && fixed === undefined) {
      const renewed = await this.readTokens!.renew(token);
      if (typeof renewed !== 'string') return renewed;
      res = await this.send('GET', path, undefined, { token: renewed });
    }
    if (res.outcome !== 'ok') return res;
    const downtimes = parseDowntimes(res.body);
    if (downtimes === undefined)
      return { outcome: 'retry', status: res.status, error: `HTTP ${res.status} with an answer that is not a list of downtimes`, mayHaveArrived: false };
    return { outcome: 'ok', status: res.status, downtimes };
  }

  async close(): Promise<void> {
    await this.dispatcherReady;
    await this.ownDispatcher?.close();
  }

  private async post(machine: string, endpoint: 'counter' | 'parameters' | 'startstop', body: object, onSend?: () => void): Promise<MesResult> {
    const path = machinePath(machine, endpoint);
    const payload = JSON.stringify(body);
    if (!this.tokens) {
      return this.send('POST', path, payload, { header: this.basic, token: this.opts.auth.accessToken }, onSend);
    }
    const token = await this.tokens.current();
    if (typeof token !== 'string') return notSent(token);
    const result = await this.send('POST', path, payload, { token }, onSend);
    if (result.status !== 401) return result;
    const renewed = await this.tokens.renew(token);
    if (typeof renewed !== 'string') return notSent(renewed);
    return this.send('POST', path, payload, { token: renewed }, onSend);
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    auth: { header?: string; token?: string },
    onSend?: () => void,
  ): Promise<MesResult> {
    const [{ request }, dispatcher] = await Promise.all([loadUndici(), this.dispatcher()]);
    const answered = await this.opts.acquire(onSend);
    const query = auth.token === undefined ? '' : `${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(auth.token)}`;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'shopfloor-gateway' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth.header !== undefined) headers.authorization = auth.header;
    try {
      const res = await request(dispatcher, this.base + path + query, {
        method,
        headers,
        body,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      const text = await res.body.text();
      return this.classify(res.statusCode, res.headers['retry-after'], text);
    } catch (err) {
      const code = errorCode(err);
      return {
        outcome: 'retry',
        ...(code === undefined ? {} : { code }),
        error: this.redact(`${code ?? 'error'}: ${(err as { message?: string }).message ?? String(err)}`),
        mayHaveArrived: code === undefined || !NOT_SENT_CODES.has(code),
      };
    } finally {
      answered();
    }
  }

  private classify(status: number, retryAfter: string | string[] | undefined, text: string): MesResult {
    if (status >= 200 && status < 300) {
      // The MES answers JSON or nothing. Anything else came from a proxy, a captive portal or a
      // broken answer: the request may or may not have been taken, so it is not a delivery.
      if (!isJsonOrEmpty(text))
        return { outcome: 'retry', status, error: `HTTP ${status} with an answer that is not the MES's (not JSON)`, mayHaveArrived: true };
      return { outcome: 'ok', status, body: text };
    }
    if (status === 429) return { outcome: 'rate-limited', status, retryAfterMs: parseRetryAfter(retryAfter, this.opts.clock.now()) };
    // Redacted before it is cut: a secret cut in half would no longer match.
    const reason = this.redact(text.trim()).slice(0, MAX_REASON_CHARS) || `HTTP ${status}`;
    if (status === 401 || status === 403) return { outcome: 'unauthorized', status, reason };
    // Only the MES's own "this request is wrong" answers take an item out of the queue. A
    // 404 or a redirect is a proxy, a maintenance page or a wrong baseUrl: keep the item.
    // Classified on the whole text as the MES sent it: masking a secret could change its words.
    if (status === 400 || status === 422) return { outcome: 'rejected', status, reason, rejection: rejectionKind(status, text) };
    // An answer, even an error page, says the MES did not take it: a 2xx is how it takes one.
    return { outcome: 'retry', status, error: `HTTP ${status}: ${reason}`, mayHaveArrived: false };
  }

  /** MES texts and transport errors may echo the request; keep credentials out of them. */
  private redact(text: string): string {
    const { apiSecret, accessToken } = this.opts.auth;
    let out = text;
    for (const secret of [apiSecret, accessToken, this.basic?.slice('Basic '.length), this.readTokens?.held()]) {
      if (secret) out = out.replaceAll(secret, '***').replaceAll(encodeURIComponent(secret), '***');
    }
    // Whatever else looks like a credential (a token the MES echoes that we never held).
    return out.replace(/(access_token=)[^&\s"'<]+/gi, '$1***').replace(/(Basic\s+)[A-Za-z0-9+/=]{8,}/g, '$1***');
  }
}

/** A failed token request: the item's own request never left, whatever happened to the token's. */
function notSent(failure: Exclude<MesResult, { outcome: 'ok' }>): MesResult {
  return failure.outcome === 'retry' ? { ...failure, mayHaveArrived: false } : failure;
}

/** Empty, JSON, or JSON-shaped (the reference's own examples carry trailing commas). */
function isJsonOrEmpty(text: string): boolean {
  const t = text.trim();
  if (t === '' || /^(\{[\s\S]*\}|\[[\s\S]*\])$/.test(t)) return true;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP date; absent or unreadable → 60 s. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return DEFAULT_RETRY_AFTER_MS;
  // Finite however many digits: the uploader caps the pause, and the value is logged and shown.
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER);
  // An HTTP date names its month; Date.parse alone would take "-5" for a year.
  const at = /[a-z]/i.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? DEFAULT_RETRY_AFTER_MS : Math.max(0, at - now);
}
