/** A pino logger at debug that keeps what it writes, as text and as parsed lines. */
import pino from 'pino';

export function recordingLogger() {
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
  /** Parsed log lines, optionally only those with this `event`. */
  const lines = (event?: string): Record<string, unknown>[] =>
    logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => event === undefined || l.event === event);
  return { logger, logs, lines };
}
