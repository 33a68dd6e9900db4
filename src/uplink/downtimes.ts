/**
 * Whether an uncertain run/stop reached the MES, judged from its downtimes
 * (GET /api/downtimes, docs/mes-api.md#downtimes; the rule: docs/delivery.md#uncertain-outcomes).
 * Pure: the uploader fetches, this decides.
 */

/** The MES stamps at receipt by its own clock: a downtime this much before our attempt still counts as ours. */
const CLOCK_SKEW_MS = 2000;

export interface Downtime {
  start: number;
  /** Absent while the downtime is open. */
  end?: number;
  machines: string[];
}

/** Query for the downtimes that could be this transition's: opened (running 0) or closed (running 1) since the attempt. */
export function downtimeQuery(running: 0 | 1, attemptedAt: number): Record<string, string> {
  const since = new Date(attemptedAt - CLOCK_SKEW_MS).toISOString();
  return running === 0 ? { 'start-time-after': since } : { 'end-time-after': since };
}

/**
 * For a run, the second query: the downtimes that ended since the attempt do not show one the
 * machine opened after them, still open. Those that started since the newest of them do;
 * undefined when there is none (nothing ended: the run did not arrive).
 */
export function laterDowntimesQuery(running: 0 | 1, machine: string, found: Downtime[]): Record<string, string> | undefined {
  const newest = newestOf(machine, found);
  return running === 1 && newest ? { 'start-time-after': new Date(newest.start).toISOString() } : undefined;
}

/**
 * Nothing else of the machine's run/stop is sent while this one is unresolved, so if it
 * arrived it made the machine's newest downtime what it is: a stop opened it (started since
 * the attempt, still open), a run closed it (ended since the attempt). A downtime within the
 * clock-skew allowance that a later one follows, or a closed one after a stop, is an earlier
 * transition's: transitions less than 2 s apart are no proof.
 */
export function transitionArrived(machine: string, running: 0 | 1, attemptedAt: number, downtimes: Downtime[]): boolean {
  const since = attemptedAt - CLOCK_SKEW_MS;
  const newest = newestOf(machine, downtimes);
  if (!newest) return false;
  return running === 0 ? newest.start >= since && newest.end === undefined : newest.end !== undefined && newest.end >= since;
}

/** The machine's latest downtime. Starts can be equal (stamps in whole seconds): its one open downtime is the latest, else the latest ended. */
function newestOf(machine: string, downtimes: Downtime[]): Downtime | undefined {
  const later = (a: Downtime, b: Downtime) => a.start > b.start || (a.start === b.start && (a.end ?? Infinity) > (b.end ?? Infinity));
  let newest: Downtime | undefined;
  for (const d of downtimes) if (d.machines.includes(machine) && (newest === undefined || later(d, newest))) newest = d;
  return newest;
}

/**
 * The MES's answer as downtimes; undefined when it is not a list of them (a proxy page, a cut
 * body): such an answer proves nothing either way. An end-time null or absent means open.
 */
export function parseDowntimes(body: string): Downtime[] | undefined {
  let list: unknown;
  try {
    list = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const out: Downtime[] = [];
  for (const d of list as unknown[]) {
    if (typeof d !== 'object' || d === null) return undefined;
    const r = d as Record<string, unknown>;
    const start = isoTime(r['start-time']);
    const end = r['end-time'] === null || r['end-time'] === undefined ? undefined : isoTime(r['end-time']);
    if (start === undefined || (r['end-time'] != null && end === undefined) || !Array.isArray(r.machines)) return undefined;
    const machines = (r.machines as unknown[]).flatMap((m) =>
      typeof m === 'object' && m !== null && typeof (m as { code?: unknown }).code === 'string' ? [(m as { code: string }).code] : [],
    );
    out.push(end === undefined ? { start, machines } : { start, end, machines });
  }
  return out;
}

function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
