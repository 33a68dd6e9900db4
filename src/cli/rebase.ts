/**
 * `shopfloor-gateway rebase <machine> <mesCount> [--waste CODE=QTY ...] [--set]`: when the
 * MES already holds a higher counter than this gateway (state lost on reinstall, counter set
 * by another system), raise the machine's delivered totals to the MES's values. What the
 * gateway counted but had not delivered yet is kept on top, so nothing is lost.
 * With `--set` the totals become exactly the MES's values, downward too: the way out for a
 * machine whose total is wrong (e.g. a huge value taken before values were checked).
 */
import { parseVerbArgs, UsageError } from './args.js';
import { openStoreFromConfig } from './open-store.js';
import { rebaseCounter, setCounter } from '../outbox/rebase.js';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { waste: { type: 'string', multiple: true }, set: { type: 'boolean' } });
  const [machine, mesCount] = positionals;
  const targets: { signal: string; value: number }[] = [];
  if (mesCount !== undefined) targets.push({ signal: 'count', value: Number(mesCount) });
  for (const w of (values.waste as string[] | undefined) ?? []) {
    const [code, qty] = w.split('=');
    targets.push({ signal: `waste:${code}`, value: Number(qty) });
  }
  if (!machine || targets.length === 0 || targets.some((t) => !Number.isSafeInteger(t.value) || t.value < 0)) {
    throw new UsageError('give the machine and the count the MES shows (whole numbers, 0 or more)');
  }
  const apply = values.set === true ? setCounter : rebaseCounter;
  const db = openStoreFromConfig(String(values.config));
  if (!db) return 1;
  try {
    for (const t of targets) {
      const r = apply(db, machine, t.signal, t.value, Date.now());
      if (!r) {
        process.stderr.write(`${machine} ${t.signal}: unknown to this gateway (a machine code of the config whose counter has been read at least once)\n`);
        return 1;
      }
      process.stdout.write(`${machine} ${t.signal}: total ${r.before} → ${r.after} (MES had ${t.value}; ${r.after - t.value} still to send)\n`);
    }
    process.stdout.write('Dead letters of the refused values stay listed: shopfloor-gateway outbox dead / outbox drop ID\n');
    return 0;
  } finally {
    db.close();
  }
}
