/**
 * Token authentication against the MES (`/api/authorization`, docs/mes-api.md#authentication). Tokens live 2 h.
 * One authorization is shared by every integration of the company, so the existing token
 * is fetched (GET) and a new one is created (POST) only when there is none or the one the
 * MES hands out is the token it just refused: creating one needlessly could cut off the
 * company's other integrations.
 */
import type { Clock } from '../core/clock.js';
import type { MesResult } from './mes-client.js';

const TOKEN_LIFETIME_MS = 2 * 60 * 60 * 1000;
/** Renew this long before the lifetime ends, so a request never carries a dying token. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;
const SCOPES_BODY = JSON.stringify({ scopes: ['productions_write'] });

/** One request to `/api/authorization` with Basic credentials. */
export type AuthorizationRequest = (method: 'GET' | 'POST', body?: string) => Promise<MesResult>;
type Failure = Exclude<MesResult, { outcome: 'ok' }>;

export function basicAuthorization(apiKey: string, apiSecret: string): string {
  return `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`;
}

export class TokenKeeper {
  private token?: { value: string; since: number };
  /** One renewal at a time: concurrent requests that need a token share it. */
  private renewing?: Promise<string | Failure>;

  constructor(
    private readonly authorize: AuthorizationRequest,
    private readonly clock: Clock,
  ) {}

  /** The token currently held, if any (to keep it out of error texts). */
  held(): string | undefined {
    return this.token?.value;
  }

  /** A token to use now: the held one while young enough, else a renewed one. */
  current(): Promise<string | Failure> {
    const t = this.token;
    if (t && this.clock.now() < t.since + TOKEN_LIFETIME_MS - RENEW_BEFORE_MS) return Promise.resolve(t.value);
    return this.renew(t?.value);
  }

  /** A token other than `stale` (expiring, or just refused with a 401). */
  renew(stale: string | undefined): Promise<string | Failure> {
    if (this.token && this.token.value !== stale) return Promise.resolve(this.token.value);
    this.renewing ??= this.fetch(stale).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async fetch(stale: string | undefined): Promise<string | Failure> {
    const existing = await this.authorize('GET');
    // 404 (or a 400) from GET: no token exists yet, create one.
    const none = existing.outcome === 'rejected' || (existing.outcome === 'retry' && existing.status === 404);
    if (existing.outcome !== 'ok' && !none) return existing;
    let value = existing.outcome === 'ok' ? parseToken(existing.body) : undefined;
    if (value === undefined || value === stale) {
      const created = await this.authorize('POST', SCOPES_BODY);
      // A refused token request is not the fault of the item being sent: report it as
      // retryable, never as a rejection that would dead-letter the item.
      if (created.outcome === 'rejected') {
        return { outcome: 'retry', status: created.status, error: `token request refused: ${created.reason}`, mayHaveArrived: false };
      }
      if (created.outcome !== 'ok') return created;
      value = parseToken(created.body);
      if (value === undefined)
        return { outcome: 'retry', status: created.status, error: 'the MES answered the token request without a token', mayHaveArrived: false };
    }
    this.token = { value, since: this.clock.now() };
    return value;
  }
}

/** `{"token": "..."}`; tolerant of the trailing comma the reference's own example carries. */
export function parseToken(body: string): string | undefined {
  try {
    const token: unknown = (JSON.parse(body) as { token?: unknown } | null)?.token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return /"token"\s*:\s*"([^"]+)"/.exec(body)?.[1];
  }
}
