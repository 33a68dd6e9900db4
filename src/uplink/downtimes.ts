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

/** A stop arrived iff a downtime of the machine started since the attempt; a run iff one ended since. */
export function transitionArrived(machine: string, running: 0 | 1, attemptedAt: number, downtimes: Downtime[]): boolean {
  const since = attemptedAt - CLOCK_SKEW_MS;
  return downtimes.some((d) => d.machines.includes(machine) && (running === 0 ? d.start >= since : d.end !== undefined && d.end >= since));
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
