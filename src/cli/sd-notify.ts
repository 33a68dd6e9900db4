/**
 * systemd notify protocol (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) for Type=notify units.
 *
 * NOTIFY_SOCKET is a unix datagram socket, which Node cannot open, so each message is handed
 * to a helper process: `systemd-notify` (present wherever systemd runs; it waits until PID 1 has
 * processed the message, which avoids the race that makes PID 1 drop messages from a helper
 * that has already exited), else `socat` (containers without systemd tools). The unit
 * therefore needs NotifyAccess=all. Everything fails soft: a notification that cannot be sent
 * is reported once on stderr and never disturbs the gateway. Without NOTIFY_SOCKET (run by
 * hand, in tests) nothing is done at all.
 */
import { execFile, type ExecFileException } from 'node:child_process';

export interface Notifier {
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
  /** Sends WATCHDOG=1 every half WATCHDOG_USEC, when systemd asked for it for this process. */
  startWatchdog(): void;
  /** Stops the watchdog; resolves when the notifications already asked for are sent. */
  close(): Promise<void>;
}

/** systemd-notify waits for PID 1; a receiver that never acknowledges must not hold us forever. */
const HELPER_TIMEOUT_MS = 5000;

interface Helper {
  cmd: string;
  args(fields: string[]): string[];
  input?(fields: string[]): string;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return { ready() {}, status() {}, stopping() {}, startWatchdog() {}, close: async () => {} };

  // A leading @ names a socket in the abstract namespace.
  const target = socket.startsWith('@') ? `ABSTRACT-SENDTO:${socket.slice(1)}` : `UNIX-SENDTO:${socket}`;
  const helpers: Helper[] = [
    { cmd: 'systemd-notify', args: (fields) => fields },
    { cmd: 'socat', args: () => ['-u', 'STDIN', target], input: (fields) => fields.join('\n') },
  ];
  let warned = false;
  let queue = Promise.resolve();
  let inFlight = 0;
  let watchdog: NodeJS.Timeout | undefined;

  const warn = (message: string) => {
    if (!warned) process.stderr.write(`sd-notify: ${message} (further failures are not reported)\n`);
    warned = true;
  };

  /** Tries the helpers in order; only "not installed" moves on to the next one. */
  const deliver = async (fields: string[]) => {
    while (helpers.length > 0) {
      const helper = helpers[0];
      const err = await run(helper, fields, env);
      if (!err) return;
      if (err.code !== 'ENOENT') return warn(`${helper.cmd} ${fields.join(' ')}: ${err.message}`);
      helpers.shift();
    }
    warn('neither systemd-notify nor socat is installed, cannot notify systemd');
  };

  const send = (...fields: string[]) => {
    inFlight++;
    queue = queue.then(() => deliver(fields)).finally(() => inFlight--);
  };
  // STATUS is one line in the protocol.
  const statusField = (text: string) => `STATUS=${text.replace(/\s+/g, ' ')}`;

  return {
    ready: (status) => (status === undefined ? send('READY=1') : send('READY=1', statusField(status))),
    status: (text) => send(statusField(text)),
    stopping: () => send('STOPPING=1'),
    startWatchdog() {
      const usec = Number(env.WATCHDOG_USEC);
      const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
      if (watchdog || !forUs || !Number.isFinite(usec) || usec <= 0) return;
      watchdog = setInterval(
        () => {
          // A stuck helper must not pile up pings behind it.
          if (inFlight === 0) send('WATCHDOG=1');
        },
        Math.max(1, usec / 2000),
      );
      watchdog.unref();
    },
    close() {
      clearInterval(watchdog);
      watchdog = undefined;
      return queue;
    },
  };
}

function run(helper: Helper, fields: string[], env: NodeJS.ProcessEnv): Promise<ExecFileException | undefined> {
  return new Promise((resolve) => {
    const child = execFile(helper.cmd, helper.args(fields), { env, timeout: HELPER_TIMEOUT_MS }, (err) => resolve(err ?? undefined));
    child.stdin?.on('error', () => {}); // a helper that dies early closes its stdin: not our problem
    child.stdin?.end(helper.input?.(fields));
  });
}
