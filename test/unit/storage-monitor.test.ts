import { describe, expect, it } from 'vitest';
import pino from 'pino';
import Database from 'better-sqlite3';
import { StorageMonitor, STORAGE_LOG_MS } from '../../src/outbox/storage-monitor.js';
import { ManualClock } from '../helpers/clocks.js';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v INTEGER)');
  const clock = new ManualClock();
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const monitor = new StorageMonitor(db, '/data/gateway.db', clock, logger);
  const full = () => {
    throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
  };
  return { db, clock, logs, monitor, full };
}

describe('StorageMonitor', () => {
  it('says a full disk once, then a summary with the count every 5 minutes', () => {
    const { clock, logs, monitor, full } = setup();
    for (let i = 0; i < 100; i++) {
      expect(monitor.run('readings', full)).toBe(false);
      clock.advance(1000);
    }
    expect(logs.filter((l) => l.event === 'storage.full')).toHaveLength(1);
    clock.advance(STORAGE_LOG_MS);
    monitor.run('readings', full);
    const lines = logs.filter((l) => l.event === 'storage.full');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ failures: 100, path: '/data/gateway.db' });
    // No stack trace for a known disk condition.
    expect(lines[0].err).toBeUndefined();
    expect(monitor.status()).toMatchObject({ state: 'full', failures: 101, lastError: 'database or disk is full' });
  });

  it('clears only on a write that changed rows: an empty batch proves nothing on a full disk', () => {
    const { db, logs, monitor, full } = setup();
    monitor.run('readings', full);
    expect(monitor.run('tick', () => db.transaction(() => {}).immediate())).toBe(true);
    expect(monitor.status().state).toBe('full');
    monitor.run('readings', () => db.prepare('INSERT INTO t VALUES (1)').run());
    expect(monitor.status()).toEqual({ path: '/data/gateway.db', state: 'ok' });
    expect(logs.filter((l) => l.event === 'storage.recovered')).toHaveLength(1);
  });

  it('logs an unexpected error with its stack, as a storage error', () => {
    const { logs, monitor } = setup();
    monitor.run('sample', () => {
      throw new Error('bug');
    });
    expect(monitor.status().state).toBe('error');
    expect(logs[0]).toMatchObject({ event: 'storage.error', where: 'sample' });
    expect((logs[0].err as { stack?: string }).stack).toContain('bug');
  });
});
