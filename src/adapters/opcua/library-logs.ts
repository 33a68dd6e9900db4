/** node-opcua prints to the console, which would break the JSON log stream on stdout. */
import { format } from 'node:util';
import type { Logger } from 'pino';
import { setErrorLogger, setWarningLogger } from 'node-opcua';

let routed = false;

/** Process-wide, as node-opcua's loggers are: the first caller's logger gets them. */
export function routeLibraryLogs(logger: Logger): void {
  if (routed) return;
  routed = true;
  const lib = logger.child({ lib: 'node-opcua' });
  // Its warnings are chatty (certificate dumps, "please wait"); what matters is reported by the adapter.
  setWarningLogger((...args: unknown[]) => lib.debug(format(...args)));
  setErrorLogger((...args: unknown[]) => lib.warn(format(...args)));
}
