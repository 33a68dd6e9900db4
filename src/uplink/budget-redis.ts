/**
 * The Redis connection of the shared budget (ioredis, loaded only when `sharedBudget` is
 * configured: a gateway without it never pays for the module). Every command is bounded:
 * no offline queue (a command while disconnected fails at once), a command timeout, and a
 * connect timeout; ioredis reconnects in the background. The script runs by EVALSHA, with
 * EVAL when Redis does not have it (after a restart), through ioredis's defineCommand.
 * ioredis's error texts are read here only, into stable codes.
 */
import { GatewayError } from '../core/errors.js';
import { BUDGET_LUA, budgetKeys, parseReply, type BudgetOp, type BudgetReply } from './budget-script.js';

type BudgetErrorCode =
  /** Not connected: refused, reset, DNS, or still reconnecting. */
  | 'SFG_BUDGET_UNREACHABLE'
  /** Connected, but no answer within the command timeout (a hung or overloaded Redis). */
  | 'SFG_BUDGET_TIMEOUT'
  /** Redis refused the password (NOAUTH, WRONGPASS). */
  | 'SFG_BUDGET_AUTH'
  /** `rediss://`: Redis's certificate is not trusted or does not name the address used. */
  | 'SFG_BUDGET_TLS'
  /** Any other error Redis answered (the script failed, out of memory, a read-only replica). */
  | 'SFG_BUDGET_REDIS';

class BudgetError extends GatewayError<BudgetErrorCode> {}

/** One budget operation in Redis; rejects with a BudgetError. */
export interface BudgetRedis {
  run(op: BudgetOp, args: (string | number)[]): Promise<BudgetReply>;
  close(): Promise<void>;
}

export interface BudgetRedisOptions {
  url: string;
  key: string;
  gateway: string;
  /** Span and company figure, ARGV 3 and 4 of every call. */
  spanMs: number;
  limit: number;
  lapseMs: number;
  reserveMs: number;
  graceMs: number;
  forgetMs: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** A command waits at most this for Redis's answer; then Redis counts as unreachable (docs/rate-budget.md). */
const COMMAND_TIMEOUT_MS = 300;
const CONNECT_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

interface ScriptClient {
  sfgBudget(...args: (string | number)[]): Promise<unknown>;
}

/** Creates the client and starts connecting; resolves once connected or after the first failed try (it keeps trying). */
export async function connectBudgetRedis(o: BudgetRedisOptions): Promise<BudgetRedis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(o.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: o.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    connectTimeout: o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 250, MAX_RECONNECT_DELAY_MS),
  });
  let lastError: unknown;
  // Without a listener an 'error' event would end the process; the budget reports the state.
  client.on('error', (err) => {
    lastError = err;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  client.defineCommand('sfgBudget', { numberOfKeys: 6, lua: BUDGET_LUA });
  const keys = budgetKeys(o.key);
  const fixed = [o.gateway, o.spanMs, o.limit, o.lapseMs, o.reserveMs, o.graceMs, o.forgetMs];
  await client.connect().catch(() => undefined);
  return {
    async run(op, args) {
      try {
        return parseReply(await (client as unknown as ScriptClient).sfgBudget(...keys, op, ...fixed, ...args));
      } catch (err) {
        throw budgetError(err, lastError);
      }
    },
    async close() {
      client.disconnect();
    },
  };
}

/** Node's TLS verification failures: a person must act (the CA, the certificate's names), no retry mends them. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function budgetError(err: unknown, connectionError: unknown): BudgetError {
  const text = (err as Error)?.message ?? String(err);
  const why = (connectionError as Error | undefined)?.message ?? '';
  if (/^(NOAUTH|WRONGPASS)/.test(text) || /^(NOAUTH|WRONGPASS)/.test(why))
    return new BudgetError('SFG_BUDGET_AUTH', 'Redis refused the password', { cause: err });
  const code = (connectionError as { code?: string } | undefined)?.code;
  if (code && UNTRUSTED.has(code)) {
    return new BudgetError('SFG_BUDGET_TLS', `Redis's TLS certificate is not trusted (${code}): give the gateway the CA with NODE_EXTRA_CA_CERTS`, {
      cause: connectionError,
    });
  }
  if (text === 'Command timed out') return new BudgetError('SFG_BUDGET_TIMEOUT', 'Redis did not answer in time', { cause: err });
  // A command on the wire when the connection dropped fails as MaxRetriesPerRequestError (no retries: the budget decides).
  if (/enableOfflineQueue|Connection is closed/.test(text) || (err as Error)?.name === 'MaxRetriesPerRequestError') {
    return new BudgetError('SFG_BUDGET_UNREACHABLE', `Redis is not reachable${code ? ` (${code})` : ''}`, { cause: connectionError ?? err });
  }
  return new BudgetError('SFG_BUDGET_REDIS', `Redis answered an error: ${text.split('\n')[0]}`, { cause: err });
}
