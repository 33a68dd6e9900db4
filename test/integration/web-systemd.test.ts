import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewaySchema } from '../../src/config/schema.js';
import { ownedTempDir } from '../helpers/tmp.js';

const root = new URL('../../', import.meta.url).pathname;
const unitFile = join(root, 'systemd/shopfloor-gateway.service');
const START: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
const [, START_ENV, START_FLAGS] = /^((?:\w+=\S+ )*)node (.+) bin\/shopfloor-gateway\.js run$/.exec(START) ?? [];
const EXEC_START = `/usr/bin/env node ${START_FLAGS} /opt/shopfloor-gateway/bin/shopfloor-gateway.js run --config /etc/shopfloor-gateway/gateway.yaml`;

/** Section → key → every value given (DeviceAllow= and friends repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]] = {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`not a unit file line: ${raw}`);
    current[kv[1]] ??= [];
    current[kv[1]].push(kv[2]);
  }
  return sections;
}

const hasTool = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

describe('systemd unit', () => {
  const unit = parseUnit(readFileSync(unitFile, 'utf8'));
  const service = unit.Service;

  it('runs the gateway as its own user, notify-typed, restarted forever', () => {
    expect(service.ExecStart).toEqual([EXEC_START]);
    expect(service).toMatchObject({
      Type: ['notify'],
      NotifyAccess: ['all'],
      User: ['shopfloor-gateway'],
      Group: ['shopfloor-gateway'],
      SupplementaryGroups: ['dialout'],
      Restart: ['always'],
      StateDirectory: ['shopfloor-gateway'],
      ConfigurationDirectory: ['shopfloor-gateway'],
      // The bin keeps V8's compile cache there ($CACHE_DIRECTORY): PrivateTmp empties /tmp every start.
      CacheDirectory: ['shopfloor-gateway'],
      WorkingDirectory: ['/var/lib/shopfloor-gateway'],
      EnvironmentFile: ['/etc/shopfloor-gateway/secrets.env'],
    });
    expect(service.WatchdogSec?.[0]).toMatch(/^\d+s$/);
    expect(service.RestartSec?.[0]).toMatch(/^\d+s$/);
    expect(service.MemoryMax?.[0]).toMatch(/^\d+[MG]$/);
    expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
  });

  it('runs with the environment and node flags of npm start, so the service has the footprint the README measured', () => {
    expect(START_FLAGS).toContain('--max-semi-space-size=');
    expect(START_FLAGS).toContain('--liftoff-only');
    // No TurboFan: its code and compile memory were ~17 MB of RSS at 1000 signals, for no CPU gained (README "Performance").
    expect(START_FLAGS).toContain('--max-opt=2');
    // Maglev only for what is called often: its code of the rest was ~6 MB at 100 signals.
    expect(START_FLAGS).toContain('--invocation-count-for-maglev=20000');
    const env = START_ENV.split(' ').filter(Boolean);
    expect(env).toContain('MALLOC_ARENA_MAX=2');
    for (const kv of env) expect(service.Environment).toContain(kv);
    // ExecStart (EXEC_START above) passes the same flags to node.
    expect(service.ExecStart).toEqual([EXEC_START]);
  });

  it('is hardened, yet lets serial ports open and the web server listen', () => {
    for (const key of [
      'NoNewPrivileges',
      'ProtectHome',
      'PrivateTmp',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectKernelLogs',
      'ProtectControlGroups',
    ]) {
      expect(service[key], key).toEqual(['yes']);
    }
    expect(service.ProtectSystem).toEqual(['strict']);
    // Writable besides the state and cache folders: only the device files, which a commissioning save writes.
    expect(service.ReadWritePaths).toEqual(['/etc/shopfloor-gateway/devices']);
    expect(service.RestrictAddressFamilies).toEqual(['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
    expect(service.DevicePolicy).toEqual(['closed']);
    expect(service.DeviceAllow).toEqual(expect.arrayContaining(['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyS rw']));
    // These would hide the serial ports or break Node's JIT.
    expect(service.PrivateDevices).toBeUndefined();
    expect(service.MemoryDenyWriteExecute).toBeUndefined();
    // Binding an unprivileged port needs no capability; a private network would cut the MES off.
    expect(service.PrivateNetwork).toBeUndefined();
    expect(service.CapabilityBoundingSet).toEqual(['']);
  });

  it(`passes systemd-analyze verify${hasTool('systemd-analyze') ? '' : ' (tool not installed: the key checks above stand in for it)'}`, () => {
    if (!hasTool('systemd-analyze')) return;
    // verify insists that ExecStart exists: point it at this checkout's copy of the same file.
    const { path: dir, remove } = ownedTempDir('unit-');
    try {
      const copy = join(dir, 'shopfloor-gateway.service');
      writeFileSync(copy, readFileSync(unitFile, 'utf8').replace('/opt/shopfloor-gateway/bin/', join(root, 'bin/')));
      const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      remove();
    }
  });

  it('starts a file that exists and is executable', () => {
    accessSync(join(root, 'bin/shopfloor-gateway.js'), constants.X_OK);
  });
});

describe('install.sh', () => {
  const script = join(root, 'systemd/install.sh');

  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).stderr).toBe('');
  });

  it('--dry-run shows every step and changes nothing', () => {
    const result = spawnSync('bash', [script, '--dry-run'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/user shopfloor-gateway exists|would run: useradd --system --user-group --groups dialout/);
    // Built with the dev tools (prepare compiles dist/), then they are pruned.
    expect(out).toContain('would run: env -C /opt/shopfloor-gateway.new npm ci --no-audit');
    expect(out).toContain('would run: env -C /opt/shopfloor-gateway.new npm prune --omit=dev');
    expect(out).toMatch(/would write: \/etc\/shopfloor-gateway\/secrets\.env \(mode 0600, owner root:root\)|keeping \/etc\/shopfloor-gateway\/secrets\.env/);
    expect(out).toContain('would run: install -m 0644 ');
    expect(out).toContain('would run: install -d -m 0770 -o root -g shopfloor-gateway /etc/shopfloor-gateway/devices');
    expect(out).toContain('would run: systemctl daemon-reload');
    expect(out).toContain('would run: systemctl enable shopfloor-gateway.service');
    // Every action is only shown: lines are headings, "would ..." or the closing advice.
    const actions = out.split('\n').filter((l) => l.startsWith('    ') && !/^ {4}(would |\d\. |status page)/.test(l));
    expect(actions).toEqual([]);
  });

  it('rejects unknown options', () => {
    const result = spawnSync('bash', [script, '--force'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option: --force');
  });
});

describe('production gateway.yaml written by install.sh', () => {
  const text = readFileSync(join(root, 'systemd/gateway.production.yaml'), 'utf8');
  const env: Record<string, string> = { PRODSMART_API_KEY: 'key', PRODSMART_API_SECRET: 'secret' };

  it('is valid, has no demo block, and takes its secrets from the environment', () => {
    const raw = parse(text) as Record<string, unknown>;
    expect(raw).not.toHaveProperty('simulate');
    expect(text).toContain('apiKey: ${PRODSMART_API_KEY}');
    expect(text).toContain('apiSecret: ${PRODSMART_API_SECRET}');
    const expanded = parse(text.replace(/\$\{(\w+)\}/g, (_, name: string) => env[name] ?? '')) as unknown;
    const config = gatewaySchema.parse(expanded);
    expect(config.prodsmart.baseUrl).toBe('https://app.prodsmart.com');
    expect(config.storage.path).toBe('/var/lib/shopfloor-gateway/gateway.db');
    expect(config.devices).toBe('/etc/shopfloor-gateway/devices');
    expect(config.web.listen).toBe('127.0.0.1:8080');
  });
});
