/**
 * `commission [--minutes 60] [--close] [--config FILE]`: opens a commissioning window on the
 * running gateway (docs/commissioning.md) by writing the grant file it reads, and prints the
 * one-time URL. Only someone who can write the gateway's state folder can do this: the box's
 * operator, not a browser.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadGatewayFile } from '../config/load.js';
import { commissionDir, commissionUrl, removeGrant, writeGrant } from '../web/commission/grant.js';
import { parseVerbArgs, reportConfigError, UsageError } from './args.js';

const MAX_MINUTES = 480;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { minutes: { type: 'string', default: '60' }, close: { type: 'boolean', default: false } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const minutes = Number(values.minutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES) throw new UsageError(`--minutes must be a whole number from 1 to ${MAX_MINUTES}`);
  const gateway = reportConfigError(() => loadGatewayFile(values.config));
  if (!gateway) return 1;
  const dir = commissionDir(gateway.storage.path);
  if (values.close) {
    removeGrant(dir);
    process.stdout.write('commissioning window closed\n');
    return 0;
  }
  const { token, grant } = writeGrant(dir, Date.now(), minutes, serviceOwner(gateway.storage.path));
  process.stdout.write(
    `commissioning open until ${new Date(grant.expiresAt).toISOString()} (${minutes} min); open once, in the browser:\n` +
      `  ${commissionUrl(gateway.web.listen, token)}\n` +
      `the link works once; \`shopfloor-gateway commission --close\` ends the window sooner\n`,
  );
  return 0;
}

/**
 * Run as root (sudo) for a gateway that runs as its own user (the systemd unit): the grant goes
 * to the owner of the storage folder, or the service could neither read it nor mark it used.
 */
function serviceOwner(storagePath: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const { uid, gid } = statSync(dirname(resolve(storagePath)));
    return uid === 0 ? undefined : { uid, gid };
  } catch {
    return undefined;
  }
}
