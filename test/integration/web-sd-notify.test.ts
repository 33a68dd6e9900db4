import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNotifier } from '../../src/cli/sd-notify.js';
import { ownedTempDir } from '../helpers/tmp.js';

let tmp: ReturnType<typeof ownedTempDir>;
let dir: string;
let log: string;
beforeEach(() => {
  tmp = ownedTempDir('sd-notify-');
  dir = tmp.path;
  log = join(dir, 'calls.log');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  tmp.remove();
});

/** A stand-in helper on an otherwise empty PATH that appends its arguments (and stdin) to the log. */
function fakeHelper(name: 'systemd-notify' | 'socat', exitCode = 0) {
  const script = `#!/bin/sh\n{ echo "$0 $*"; ${name === 'socat' ? '/bin/cat; echo;' : ''} echo ---; } >> "${log}"\nexit ${exitCode}\n`;
  writeFileSync(join(dir, name), script);
  chmodSync(join(dir, name), 0o755);
}

const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('---\n').filter(Boolean) : []);
const env = (extra: Record<string, string> = {}) => ({ PATH: dir, NOTIFY_SOCKET: '/run/test/notify', ...extra });

describe('sd-notify', () => {
  it('does nothing without NOTIFY_SOCKET', async () => {
    fakeHelper('systemd-notify');
    const n = createNotifier({ PATH: dir, WATCHDOG_USEC: '1000' });
    n.ready('up');
    n.startWatchdog();
    n.stopping();
    await n.close();
    expect(calls()).toEqual([]);
  });

  it('sends READY with a one-line STATUS, then STOPPING, in order, through systemd-notify', async () => {
    fakeHelper('systemd-notify');
    const n = createNotifier(env());
    n.ready('delivering for\n2 devices');
    n.status('MES unreachable');
    n.stopping();
    await n.close();
    expect(calls().map((c) => c.replace(`${dir}/`, ''))).toEqual([
      'systemd-notify READY=1 STATUS=delivering for 2 devices\n',
      'systemd-notify STATUS=MES unreachable\n',
      'systemd-notify STOPPING=1\n',
    ]);
  });

  it('pings the watchdog every half WATCHDOG_USEC, only when it is meant for this process', async () => {
    fakeHelper('systemd-notify');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const n = createNotifier(env({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid) }));
    n.startWatchdog();
    vi.advanceTimersByTime(999);
    await n.close();
    expect(calls()).toEqual([]);

    const again = createNotifier(env({ WATCHDOG_USEC: '2000000' }));
    again.startWatchdog();
    vi.advanceTimersByTime(1000);
    await again.close();
    expect(calls().map((c) => c.replace(`${dir}/`, ''))).toEqual(['systemd-notify WATCHDOG=1\n']);

    const other = createNotifier(env({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid + 1) }));
    other.startWatchdog();
    vi.advanceTimersByTime(5000);
    await other.close();
    expect(calls()).toHaveLength(1);
  });

  it('falls back to socat when systemd-notify is not installed', async () => {
    fakeHelper('socat');
    const n = createNotifier(env({ NOTIFY_SOCKET: '@abstract/notify' }));
    n.ready('up');
    await n.close();
    expect(calls().map((c) => c.replace(`${dir}/`, ''))).toEqual(['socat -u STDIN ABSTRACT-SENDTO:abstract/notify\nREADY=1\nSTATUS=up\n']);
  });

  it('fails soft, with one warning, when no helper exists or a helper fails', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const none = createNotifier(env());
    none.ready();
    none.stopping();
    await none.close();
    expect(stderr).toHaveBeenCalledTimes(1);
    expect(String(stderr.mock.calls[0][0])).toMatch(/neither systemd-notify nor socat/);

    fakeHelper('systemd-notify', 1);
    stderr.mockClear();
    const failing = createNotifier(env());
    failing.ready();
    failing.stopping();
    await failing.close();
    expect(calls()).toHaveLength(2);
    expect(stderr).toHaveBeenCalledTimes(1);
  });

  it('reaches a real notify socket through the real systemd-notify', async () => {
    const socket = join(dir, 'notify.sock');
    // A minimal service manager: receives datagrams, closes passed fds (which ends systemd-notify's barrier wait).
    const receiver = spawn('/usr/bin/python3', ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const waiters: { line: string; resolve: () => void }[] = [];
    const seen = (line: string) => new Promise<void>((resolve) => (lines.includes(line) ? resolve() : waiters.push({ line, resolve })));
    receiver.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter(Boolean));
      for (const w of waiters) if (lines.includes(w.line)) w.resolve();
    });
    try {
      await seen('listening');
      const n = createNotifier({ PATH: process.env.PATH, NOTIFY_SOCKET: socket });
      n.ready('up and running');
      await n.close();
      await seen(JSON.stringify('READY=1\nSTATUS=up and running'));
    } finally {
      receiver.kill();
    }
  });
});

const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps(msg.decode()), flush=True)
`;
