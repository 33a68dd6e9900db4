/**
 * `trust <device> [--config FILE]`: fetches the certificate an OPC UA device presents,
 * shows what a technician compares against the server's own display, and adds it to the
 * device's trusted store. Needs no earlier run: the store is created here if missing.
 */
import pino from 'pino';
import { createLogger } from '../core/log.js';
import type { DeviceOf } from '../config/schema.js';
import { pkiDir } from '../adapters/opcua/pki.js';
import { deviceStateDir } from '../adapters/state-dir.js';
import type { TrustOutcome } from '../adapters/opcua/trust.js';
import { deviceFromArgs } from './args.js';

export async function main(argv: string[]): Promise<number> {
  const found = deviceFromArgs(argv);
  if (typeof found === 'number') return found;
  const { config, device } = found;
  if (device.protocol !== 'opcua') {
    process.stderr.write(`device "${device.device}" speaks ${device.protocol}; only OPC UA devices have certificates to trust\n`);
    return 2;
  }

  const stateDir = deviceStateDir(config.gateway, device.device);
  // node-opcua is loaded only for this verb, as for the adapter.
  const { trustServer } = await import('../adapters/opcua/trust.js');
  let outcome: Awaited<ReturnType<typeof trustServer>>;
  try {
    outcome = await trustServer(device, stateDir, createLogger('warn', pino.destination({ dest: 2, sync: true })));
  } catch (err) {
    process.stderr.write(`trust ${device.device} failed: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(report(device, stateDir, outcome));
  return 0;
}

function report(device: DeviceOf<'opcua'>, stateDir: string, o: TrustOutcome): string {
  const s = o.server;
  const now = new Date();
  const validity = now < s.validFrom ? '  NOT YET VALID' : now > s.validTo ? '  EXPIRED' : '';
  const lines = [
    `OPC UA server ${device.connection.endpointUrl} (device ${device.device})`,
    `  subject:  ${s.subject}`,
    `  issuer:   ${s.issuer}`,
    `  SHA-1:    ${s.sha1}`,
    `  SHA-256:  ${s.sha256}`,
    `  valid:    ${s.validFrom.toISOString()} to ${s.validTo.toISOString()}${validity}`,
    '',
    o.wasTrusted ? `already trusted in ${pkiDir(stateDir)}/trusted` : `now trusted in ${pkiDir(stateDir)}/trusted`,
    'Compare the fingerprints with the ones the server shows; if they differ, remove it from that folder.',
    '',
    'The gateway presents this certificate; a server that rejects unknown clients must trust it:',
    `  file:     ${o.client.file}`,
    `  SHA-1:    ${o.client.sha1}`,
    `  SHA-256:  ${o.client.sha256}`,
  ];
  if (device.connection.securityMode === 'None') {
    lines.push('', 'Note: this device uses securityMode None, so certificates are not checked until it is secured.');
  }
  return `${lines.join('\n')}\n`;
}
