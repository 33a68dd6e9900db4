/**
 * HTTP client for the three MES machine endpoints (SPEC §2). It sends one request and says
 * what the answer means; what to do next (retry, back off, pause, dead-letter) is the
 * uploader's decision. The only retry here is the one after a 401 with a fresh token.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Answered } from './rate-budget.js';
import { basicAuthorization, TokenKeeper } from './auth.js';

export type MesResult =
  | { outcome: 'ok'; status: number; body: string }
  /** 400 etc.: the MES refused this item; `reason` is its text. */
  | { outcome: 'rejected'; status: number; reason: string }
  | { outcome: 'unauthorized'; status: 401 | 403; reason: string }
  | { outcome: 'rate-limited'; status: 429; retryAfterMs: number }
  /** 5xx, timeout, connection error: worth sending again later. */
  | { outcome: 'retry'; status?: number; error: string };

export type ParameterValue = number | string | boolean;
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
   * with what to call once the answer (or the failure) came.
   */
  acquire: () => Promise<Answered>;
  clock: Clock;
  /** Defaults to an own keep-alive agent, closed by close(). */
  dispatcher?: Dispatcher;
}

/** Retry-After when the MES leaves it out: one whole rate-limit window. */
const DEFAULT_RETRY_AFTER_MS = 60_000;
/** MES texts end up on the status page; an HTML error page should not. */
const MAX_REASON_CHARS = 500;

export class MesClient {
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher?: Agent;
  private readonly basic: string | undefined;
  private readonly tokens: TokenKeeper | undefined;

  constructor(private readonly opts: MesClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    const { apiKey, apiSecret, tokenAuth } = opts.auth;
    if (apiKey !== undefined && apiSecret !== undefined) this.basic = basicAuthorization(apiKey, apiSecret);
    if (tokenAuth) {
      this.tokens = new TokenKeeper(
        (method, body) => this.send(method, '/api/authorization', body, { header: this.basic }),
        opts.clock,
      );
    }
    this.dispatcher = opts.dispatcher ?? (this.ownDispatcher = new Agent({ connect: { timeout: opts.timeoutMs } }));
  }

  counter(machine: string, body: CounterBody): Promise<MesResult> {
    return this.post(machine, 'counter', body);
  }

  parameters(machine: string, body: ParametersBody): Promise<MesResult> {
    return this.post(machine, 'parameters', body);
  }

  startstop(machine: string, body: StartStopBody): Promise<MesResult> {
    return this.post(machine, 'startstop', body);
  }

  async close(): Promise<void> {
    await this.ownDispatcher?.close();
  }

  private async post(machine: string, endpoint: string, body: object): Promise<MesResult> {
    const path = `/api/machines/${encodeURIComponent(machine)}/${endpoint}`;
    const payload = JSON.stringify(body);
    if (!this.tokens) {
      return this.send('POST', path, payload, { header: this.basic, token: this.opts.auth.accessToken });
    }
    const token = await this.tokens.current();
    if (typeof token !== 'string') return token;
    const result = await this.send('POST', path, payload, { token });
    if (result.status !== 401) return result;
    const renewed = await this.tokens.renew(token);
    if (typeof renewed !== 'string') return renewed;
    return this.send('POST', path, payload, { token: renewed });
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    auth: { header?: string; token?: string },
  ): Promise<MesResult> {
    const answered = await this.opts.acquire();
    const query = auth.token === undefined ? '' : `?access_token=${encodeURIComponent(auth.token)}`;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'shopfloor-gateway' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth.header !== undefined) headers.authorization = auth.header;
    try {
      const res = await request(this.base + path + query, {
        method,
        headers,
        body,
        dispatcher: this.dispatcher,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      const text = await res.body.text();
      return this.classify(res.statusCode, res.headers['retry-after'], text);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { outcome: 'retry', error: this.redact(`${e.code ?? 'error'}: ${e.message ?? String(err)}`) };
    } finally {
      answered();
    }
  }

  private classify(status: number, retryAfter: string | string[] | undefined, text: string): MesResult {
    if (status >= 200 && status < 300) return { outcome: 'ok', status, body: text };
    if (status === 429) return { outcome: 'rate-limited', status, retryAfterMs: parseRetryAfter(retryAfter, this.opts.clock.now()) };
    // Redacted before it is cut: a secret cut in half would no longer match.
    const reason = this.redact(text.trim()).slice(0, MAX_REASON_CHARS) || `HTTP ${status}`;
    if (status === 401 || status === 403) return { outcome: 'unauthorized', status, reason };
    // Only the MES's own "this request is wrong" answers take an item out of the queue. A
    // 404 or a redirect is a proxy, a maintenance page or a wrong baseUrl: keep the item.
    if (status === 400 || status === 422) return { outcome: 'rejected', status, reason };
    return { outcome: 'retry', status, error: `HTTP ${status}: ${reason}` };
  }

  /** MES texts and transport errors may echo the request; keep credentials out of them. */
  private redact(text: string): string {
    const { apiSecret, accessToken } = this.opts.auth;
    let out = text;
    for (const secret of [apiSecret, accessToken, this.basic?.slice('Basic '.length), this.tokens?.held()]) {
      if (secret) out = out.replaceAll(secret, '***').replaceAll(encodeURIComponent(secret), '***');
    }
    // Whatever else looks like a credential (a token the MES echoes that we never held).
    return out.replace(/(access_token=)[^&\s"'<]+/gi, '$1***').replace(/(Basic\s+)[A-Za-z0-9+/=]{8,}/g, '$1***');
  }
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP date; absent or unreadable → 60 s. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its month; Date.parse alone would take "-5" for a year.
  const at = /[a-z]/i.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? DEFAULT_RETRY_AFTER_MS : Math.max(0, at - now);
}
