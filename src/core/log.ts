/**
 * pino to stdout: JSON lines for journald, pretty when a person watches a terminal.
 * Secrets are redacted by key wherever they appear in a logged object.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

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
    return pino({ ...opts, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } } });
  }
  return pino(opts);
}
