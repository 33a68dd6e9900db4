/**
 * The rate budget across a restart, through the database: the sends one process recorded in
 * `request_log` are what the next process's budget is built from (as the gateway does at start).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase } from '../../src/outbox/db.js';
import { RequestLog } from '../../src/outbox/request-log.js';
import { RateBudget, SPAN_MS } from '../../src/uplink/rate-budget.js';
import { drive, maxPerWindow } from '../helpers/budget-drive.js';
import { ManualClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('sfg-budget-');

/** A budget as a freshly started gateway builds it: from the request log of the file. */
function budgetAfterRestart(file: string, clock: ManualClock, perMinute: number): RateBudget {
  const db = openDatabase(file);
  try {
    return new RateBudget({ perMinute, clock, history: new RequestLog(db).recent(clock.now() - SPAN_MS) });
  } finally {
    db.close();
  }
}

describe('rate budget after a restart', () => {
  it('refuses what the request log of the previous run still holds in its window', () => {
    const file = join(dir, 'budget.db');
    const clock = new ManualClock();
    const start = clock.now();
    const db = openDatabase(file);
    const requests = new RequestLog(db);
    const first = new RateBudget({ perMinute: 10, clock });
    // A whole window's budget, each send written to the log as the uplink does.
    const before = drive(first, clock, start + SPAN_MS - 1);
    for (const at of before) requests.record(at);
    expect(before).toHaveLength(10);
    db.close();

    clock.set(start + 58_000);
    const second = budgetAfterRestart(file, clock, 10);
    expect(second.usedLastMinute()).toBe(10);
    expect(second.delayMs()).toBe(SPAN_MS - 58_000);
    const after = drive(second, clock, start + 600_000);
    expect(after[0]).toBe(start + SPAN_MS);
    expect(maxPerWindow([...before, ...after], SPAN_MS)).toBeLessThanOrEqual(10);
  });

  it('counts a slow request from its answer, as written to the log', () => {
    const file = join(dir, 'slow.db');
    const clock = new ManualClock();
    const start = clock.now();
    const db = openDatabase(file);
    const requests = new RequestLog(db);
    const first = new RateBudget({ perMinute: 1, clock });
    first.take();
    const row = requests.record(clock.now());
    // Answered 5 s later: the MES may have counted it only then.
    clock.set(start + 5_000);
    requests.answered(row, clock.now());
    requests.flush();
    db.close();

    clock.set(start + SPAN_MS);
    expect(budgetAfterRestart(file, clock, 1).delayMs()).toBe(5_000);
    clock.set(start + 5_000 + SPAN_MS);
    expect(budgetAfterRestart(file, clock, 1).delayMs()).toBe(0);
  });
});
