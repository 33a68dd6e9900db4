/**
 * What the fault suite asserts after a run, as plain functions of what the MES sandbox
 * recorded and what the PLCs did: run/stop transitions recorded twice or invented, and
 * SQLite's own integrity check (the busiest minute is the sandbox's own `busiestMinute()`).
 */
import Database from 'better-sqlite3';
import type { SandboxMachineState } from '../../src/sim/mes-sandbox.js';

export interface PlcTransition {
  /** When the PLC had the new state (test-process time, the sandbox's clock too). */
  at: number;
  running: 0 | 1;
}

/**
 * Problems with the run/stop the MES recorded for one machine, given the PLC's own
 * transitions (the machine starts running, which the MES assumes too): the same state twice
 * in a row (a doubled transition), or a state the PLC had not entered since the one matched
 * before (invented). Collapsing transitions that began and ended offline is allowed: the
 * MES may see a subsequence. Empty = fine.
 */
export function runStopProblems(machine: string, mes: SandboxMachineState['startstop'], plc: PlcTransition[]): string[] {
  const problems: string[] = [];
  let last: 0 | 1 = 1;
  let j = 0;
  for (const [k, entry] of mes.entries()) {
    if (entry.running === last) problems.push(`${machine}: MES entry ${k} (running ${entry.running} at ${entry.at}) repeats the state before it`);
    last = entry.running;
    let match = j;
    while (match < plc.length && !(plc[match].running === entry.running && plc[match].at <= entry.at)) match++;
    if (match === plc.length)
      problems.push(`${machine}: MES entry ${k} (running ${entry.running} at ${entry.at}) matches no PLC transition after the one before`);
    else j = match + 1;
  }
  return problems;
}

/** `PRAGMA integrity_check` of the file, opened as the next gateway would open it. */
export function integrityCheck(dbPath: string): string {
  const db = new Database(dbPath);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
