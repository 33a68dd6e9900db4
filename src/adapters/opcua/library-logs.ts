/** node-opcua prints to the console, which would break the JSON log stream on stdout. */
import { format } from 'node:util';
import type { Logger } from 'pino';
import { setErrorLogger, setWarningLogger } from 'node-opcua';

let lib: Logger | undefined;

// Installed at import: node-opcua warns asynchronously right after being loaded (e.g. its
// RSA PKCS#1 v1.5 self-check, irrelevant to the Basic256Sha256 and Aes policies we use),
// before any adapter has handed over a logger. Its warnings are chatty (certificate dumps,
// "please wait"); what matters is reported by the adapter, so they go to debug.
setWarningLogger((...args: unknown[]) => lib?.debug(format(...args)));
setErrorLogger((...args: unknown[]) => lib?.warn(format(...args)));

/** Process-wide, as node-opcua's loggers are: the first caller's logger gets them. */
export function routeLibraryLogs(logger: Logger): void {
  lib ??= logger.child({ lib: 'node-opcua' });
}
