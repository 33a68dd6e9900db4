/**
 * pino to stdout: JSON lines for journald, pretty when a person watches a terminal.
 * Secrets are censored by key wherever they appear in a logged object.
 */
import { createRequire } from 'node:module';
import pino, { type Logger, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

/** Keys whose values are secrets, censored at any depth of a logged object. */
const secretKeys = new Set(['password', 'apiSecret', 'apiKey', 'accessToken', 'token', 'authorization']);
const CENSOR = '[redacted]';
// Deeper than any object the gateway logs; also ends a cycle.
const MAX_DEPTH = 8;

/**
 * `value` with every secret key's value censored: copied only along the way to a secret, so a
 * line without one is logged as it came. An Error that holds one becomes what pino's err
 * serializer makes of it, censored. Done here rather than with pino's `redact` option, whose
 * fast-redact compiles code for its paths (bench/footprint) and reaches only the depths listed.
 */
function censored(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const c = censored(item, depth + 1);
      if (c === item) return;
      copy ??= [...value];
      copy[i] = c;
    });
    return copy ?? value;
  }
  const source: Record<string, unknown> = value instanceof Error ? pino.stdSerializers.err(value) : (value as Record<string, unknown>);
  let copy: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(source)) {
    const c = secretKeys.has(key) && v !== undefined ? CENSOR : censored(v, depth + 1);
    if (c === v) continue;
    copy ??= { ...source };
    copy[key] = c;
  }
  return copy ?? value;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const opts = {
    level,
    formatters: { log: (object: Record<string, unknown>) => censored(object, 0) as Record<string, unknown> },
    // A child logger's bindings skip formatters.log (and pino resets formatters.bindings for
    // children); its serializers still apply to their top-level keys.
    serializers: Object.fromEntries([...secretKeys].map((key) => [key, () => CENSOR])),
    base: { service: 'shopfloor-gateway' },
  };
  if (destination) return pino(opts, destination);
  if (process.stdout.isTTY && !process.env.CI) {
    // Loaded only for a terminal, and run in this thread: as a pino transport it would start a
    // worker thread by file path, which dist/'s bundle of pino cannot give (scripts/build.js).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(opts, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', sync: true }));
  }
  return pino(opts);
}
