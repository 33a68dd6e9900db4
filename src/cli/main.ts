/**
 * `shopfloor-gateway <verb>`: each verb lives in its own module and exports
 * `main(argv) → exit code`. Verbs are imported lazily so `validate` never loads a protocol stack.
 * A verb throws UsageError for a command line it cannot use; its usage is printed here.
 */
import { DEFAULT_CONFIG, UsageError } from './args.js';

interface Verb {
  summary: string;
  /** What follows the verb on the command line; every verb also takes --config and --help. */
  usage: string;
  load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

const verbs: Record<string, Verb> = {
  run: { summary: 'run the gateway (default)', usage: '[--config FILE]', load: () => import('./run.js') },
  validate: { summary: 'check the configuration without touching the network', usage: '[--config FILE]', load: () => import('./validate.js') },
  probe: { summary: 'read every signal of one device once and print a table', usage: '<device> [--config FILE]', load: () => import('./probe.js') },
  simulate: {
    summary: 'start the PLC simulators and the MES sandbox of a config',
    usage: '[--config FILE] [--mes-listen HOST:PORT] [--no-plcs]',
    load: () => import('./simulate.js'),
  },
  outbox: {
    summary: 'show pending items and dead letters; retry or drop them',
    usage: '[list | dead | retry ID | drop ID] [--config FILE]',
    load: () => import('./outbox.js'),
  },
  rebase: {
    summary: "raise a machine's delivered totals above what the MES already has, or --set them to it",
    usage: '<machine> <count the MES shows> [--waste CODE=QTY ...] [--set] [--config FILE]',
    load: () => import('./rebase.js'),
  },
  trust: { summary: 'trust the certificate an OPC UA device presents', usage: '<device> [--config FILE]', load: () => import('./trust.js') },
  commission: {
    summary: 'open a commissioning window on the running gateway and print its one-time URL',
    usage: '[--minutes 60] [--close] [--config FILE]',
    load: () => import('./commission.js'),
  },
};

export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  // A verb's output may be piped into `head`; the daemon's goes to the journal and must not end with it.
  const daemon = first === undefined || first === 'run' || (first.startsWith('-') && first !== '--help' && first !== '-h');
  if (!daemon) endQuietlyOnBrokenPipe();
  if (first === 'help' && argv[1] !== undefined && Object.hasOwn(verbs, argv[1])) return main([argv[1], '--help']);
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const verb = first === undefined || first.startsWith('-') ? 'run' : first;
  const rest = first === undefined || first.startsWith('-') ? argv : argv.slice(1);
  const entry = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
  if (!entry) {
    process.stderr.write(`unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load()).main(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const line = `usage: shopfloor-gateway ${verb} ${entry.usage}\n`;
    if (!err.help) {
      process.stderr.write(`${err.message}\n${line}`);
      return 2;
    }
    process.stdout.write(`${line}\n${entry.summary}\n\n  -c, --config FILE  gateway.yaml (default: ${DEFAULT_CONFIG})\n  -h, --help         this text\n`);
    return 0;
  }
}

/**
 * `validate | head -1`: the reader has gone, so nobody is left to read a stack trace or the
 * rest of the output. Any other write error is still one.
 */
function endQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners('error').includes(onWriteError)) stream.on('error', onWriteError);
  }
}

function onWriteError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
}

function usage(): string {
  const lines = Object.entries(verbs).map(([v, e]) => `  ${v.padEnd(9)} ${e.summary}`);
  return `usage: shopfloor-gateway [command] [--config ${DEFAULT_CONFIG}]\n\ncommands:\n${lines.join('\n')}\n\nshopfloor-gateway <command> --help shows its arguments.\n`;
}
