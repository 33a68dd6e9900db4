/**
 * `shopfloor-gateway <verb>`: each verb lives in its own module and exports
 * `main(argv) → exit code`. Verbs are imported lazily so `validate` never loads a protocol stack.
 */
const verbs: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  run: { summary: 'run the gateway (default)', load: () => import('./run.js') },
  validate: { summary: 'check the configuration without touching the network', load: () => import('./validate.js') },
  probe: { summary: 'read every signal of one device once and print a table', load: () => import('./probe.js') },
  simulate: { summary: 'start the PLC simulators and the MES sandbox of a config', load: () => import('./simulate.js') },
  outbox: { summary: 'show pending items and dead letters; retry or drop them', load: () => import('./outbox.js') },
  rebase: { summary: 'raise a machine\'s delivered totals above what the MES already has', load: () => import('./rebase.js') },
  trust: { summary: 'trust the certificate an OPC UA device presents', load: () => import('./trust.js') },
};

export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const verb = first === undefined || first.startsWith('-') ? 'run' : first;
  const rest = first === undefined || first.startsWith('-') ? argv : argv.slice(1);
  const entry = verbs[verb];
  if (!entry) {
    process.stderr.write(`unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  return (await entry.load()).main(rest);
}

function usage(): string {
  const lines = Object.entries(verbs).map(([v, e]) => `  ${v.padEnd(9)} ${e.summary}`);
  return `usage: shopfloor-gateway [command] [--config config/gateway.yaml]\n\ncommands:\n${lines.join('\n')}\n`;
}
