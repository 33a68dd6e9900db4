/**
 * pino to stdout: JSON lines for journald, pretty when a person watches a terminal.
 * Secrets are redacted by key wherever they appear in a logged object.
 */
import { createRequire } from 'node:module';
import pino, { type Logger, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

const redactPaths = [
  'password',
  '*.password',
  '*.*.password',
  'apiSecret',
  '*.apiSecret',
  '*.*.apiSecret',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const opts = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'shopfloor-gateway' } };
  if (destination) return pino(opts, destination);
  if (process.stdout.isTTY && !process.env.CI) {
    // Loaded only for a terminal, and run in this thread: as a pino transport it would start a
    // worker thread by file path, which dist/'s bundle of pino cannot give (scripts/build.js).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(opts, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', sync: true }));
  }
  return pino(opts);
}
