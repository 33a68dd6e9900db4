/**
 * What a failed fault test leaves for the next person: the database file and every gateway
 * run's log lines copied to a folder that outlives the test, and a short summary printed
 * (what is still pending, the last run/stop outcomes, what the MES holds). Only on failure.
 */
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { SandboxMachineState } from '../../src/sim/mes-sandbox.js';

/** Log events worth a line in the summary: how the uncertain and failed sends were settled. */
const NOTABLE = /^(startstop\.|counter\.(settled|unsure|isolated)|mes\.(dead_letter|ahead|delivery_failed))/;

/** Runs `fn`; if it throws, writes the dump (naming its folder) and rethrows. */
export async function dumpOnFailure<T>(fn: () => Promise<T>, dump: () => string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    try {
      console.error(dump());
    } catch (dumpErr) {
      console.error('the failure dump failed too:', dumpErr);
    }
    throw err;
  }
}

export function faultDump(opts: {
  name: string;
  dbPath: string;
  /** Each gateway run's log lines, oldest run first. */
  runs: Record<string, unknown>[][];
  mes: Record<string, SandboxMachineState>;
  machines: string[];
  /** Kept beside the MES's state in records.json: what the PLC did, what the proxy broke. */
  records: Record<string, unknown>;
}): string {
  const keep = mkdtempSync(join(tmpdir(), `${opts.name}-failed-`));
  for (const suffix of ['', '-wal', '-shm'])
    if (existsSync(opts.dbPath + suffix)) copyFileSync(opts.dbPath + suffix, join(keep, basename(opts.dbPath) + suffix));
  writeFileSync(join(keep, 'records.json'), JSON.stringify({ mes: opts.mes, ...opts.records }));
  writeFileSync(join(keep, 'gateway-logs.jsonl'), opts.runs.flatMap((lines, run) => lines.map((l) => JSON.stringify({ run, ...l }))).join('\n'));

  const out = [`${opts.name} failed: database and all gateway logs kept in ${keep}`];
  if (existsSync(opts.dbPath)) pendingSummary(opts, out);
  const notable = opts.runs.flatMap((lines, run) => lines.filter((l) => typeof l.event === 'string' && NOTABLE.test(l.event)).map((l) => ({ run, ...l })));
  for (const l of notable.slice(-12)) out.push(`  log: ${JSON.stringify(l)}`);
  return out.join('\n');
}

/** What is still pending in the database, and each machine's last run/stop there and at the MES. */
function pendingSummary(opts: { dbPath: string; mes: Record<string, SandboxMachineState>; machines: string[] }, out: string[]): void {
  const db = new Database(opts.dbPath, { readonly: true });
  try {
    const rows = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[];
    for (const r of rows(`SELECT machine, signal, total, delivered, attempted, dead FROM counter_state WHERE total > delivered OR attempted > delivered`))
      out.push(`  counter pending: ${JSON.stringify(r)}`);
    for (const r of rows(`SELECT id, machine, kind, body, attempted_at, attempts, last_error FROM outbox`)) out.push(`  outbox row: ${JSON.stringify(r)}`);
    for (const m of opts.machines) {
      const history = db.prepare(`SELECT at, body, outcome FROM history WHERE machine = ? AND kind = 'startstop' ORDER BY id DESC LIMIT 4`).all(m);
      out.push(`  ${m} run/stop history, newest first: ${JSON.stringify(history)}`);
      const s = opts.mes[m];
      out.push(`  ${m} MES: count ${s.count} waste ${JSON.stringify(s.waste)}; last run/stop ${JSON.stringify(s.startstop.slice(-4))}`);
    }
    out.push(`  request_log, newest: ${JSON.stringify(rows(`SELECT at FROM request_log ORDER BY at DESC LIMIT 5`).map((r) => r.at))}`);
  } finally {
    db.close();
  }
}
