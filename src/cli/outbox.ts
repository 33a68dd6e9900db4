/**
 * `shopfloor-gateway outbox [list|dead|retry ID|drop ID] [--config FILE]`: what is
 * waiting for the MES and what it refused. Works while the gateway runs.
 */
import { parseVerbArgs } from './args.js';
import { openStoreFromConfig } from './open-store.js';
import { Outbox } from '../outbox/outbox.js';
import { MachineStateStore } from '../outbox/machine-state.js';
import { formatTable } from './table.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv);
  const [action = 'list', arg] = positionals;
  if (!['list', 'dead', 'retry', 'drop'].includes(action)) {
    process.stderr.write(`unknown outbox action "${action}"; use list, dead, retry ID or drop ID\n`);
    return 2;
  }
  const db = openStoreFromConfig(String(values.config));
  if (!db) return 1;
  try {
    const outbox = new Outbox(db);
    if (action === 'retry' || action === 'drop') {
      const id = Number(arg);
      if (!Number.isInteger(id)) {
        process.stderr.write(`outbox ${action} needs a dead letter id (see: shopfloor-gateway outbox dead)\n`);
        return 2;
      }
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
    const state = new MachineStateStore(db);
    const rows = [
      ...state.counters().filter((c) => c.total > c.delivered).map((c) => ({
        machine: c.machine,
        kind: 'counter',
        item: c.signal,
        value: String(c.total),
        note: `MES has ${c.delivered}${c.dead !== undefined && c.total <= c.dead ? ' (dead letter)' : ''}`,
      })),
      ...outbox.pendingItems().map((p) => ({ machine: p.machine, kind: p.kind, item: p.key, value: p.body, note: p.lastError ?? '' })),
    ];
    process.stdout.write(rows.length ? formatTable(rows) : 'nothing pending\n');
    const dead = outbox.deadLetters().length;
    if (dead) process.stdout.write(`\n${dead} dead letter(s): shopfloor-gateway outbox dead\n`);
    return 0;
  } finally {
    db.close();
  }
}
