/**
 * `shopfloor-gateway outbox [list|dead|retry ID|drop ID] [--config FILE]`: what is
 * waiting for the MES and what it refused. Works while the gateway runs.
 */
import { parseVerbArgs, UsageError } from './args.js';
import { openStoreFromConfig } from './open-store.js';
import { Outbox } from '../outbox/outbox.js';
import { formatTable } from './table.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv);
  const [action = 'list', arg] = positionals;
  if (!['list', 'dead', 'retry', 'drop'].includes(action)) throw new UsageError(`unknown outbox action "${action}"; use list, dead, retry ID or drop ID`);
  if ((action === 'retry' || action === 'drop') && !Number.isInteger(Number(arg))) {
    throw new UsageError(`outbox ${action} needs a dead letter id (see: shopfloor-gateway outbox dead)`);
  }
  const db = openStoreFromConfig(String(values.config));
  if (!db) return 1;
  try {
    const outbox = new Outbox(db);
    if (action === 'retry' || action === 'drop') {
      const id = Number(arg);
      const ok = action === 'retry' ? outbox.retryDead(id, Date.now()) : outbox.dropDead(id);
      process.stdout.write(ok ? `dead letter ${id} ${action === 'retry' ? 'queued again' : 'dropped'}\n` : `no dead letter ${id}\n`);
      return ok ? 0 : 1;
    }
    if (action === 'dead') {
      const rows = outbox.deadLetters().map((d) => ({
        id: String(d.id),
        at: new Date(d.at).toISOString(),
        machine: d.machine,
        kind: d.kind,
        status: String(d.status),
        reason: d.reason,
        body: JSON.stringify(d.body),
      }));
      process.stdout.write(rows.length ? formatTable(rows) : 'no dead letters\n');
      return 0;
    }
    // The same rule as the uploader and the status page: a dead-lettered total is not pending.
    const machines = [
      ...new Set(
        outbox
          .lanes()
          .filter((l) => l.lane === 'counter')
          .map((l) => l.machine),
      ),
    ].sort();
    const counters = machines.flatMap((machine) =>
      outbox.pendingCounters(machine).map((c) => ({
        machine,
        kind: 'counter',
        item: `${c.signal} = ${c.total}`,
        note: `delivered ${outbox.sentBefore(machine, c.signal).delivered}`,
      })),
    );
    const rows = [
      ...counters,
      ...outbox.pendingItems().map((p) => ({ machine: p.machine, kind: p.kind, item: describeItem(p.kind, p.body), note: p.lastError ?? '' })),
    ];
    process.stdout.write(rows.length ? formatTable(rows) : 'nothing pending\n');
    const dead = outbox.deadLetters().length;
    if (dead) process.stdout.write(`\n${dead} dead letter(s): shopfloor-gateway outbox dead\n`);
    return 0;
  } finally {
    db.close();
  }
}

/** `temperature = 23.5`; `stop Maintenance at <ISO time>`, `run at <ISO time>`. */
function describeItem(kind: string, body: string): string {
  if (kind === 'parameter') {
    const p = JSON.parse(body) as { code: string; value: unknown };
    return `${p.code} = ${String(p.value)}`;
  }
  const t = JSON.parse(body) as { running: number; type: string; at: number };
  return `${t.running ? 'run' : `stop ${t.type}`} at ${new Date(t.at).toISOString()}`;
}
