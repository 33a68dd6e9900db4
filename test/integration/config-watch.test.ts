/**
 * Hot reload follows gateway.yaml: when a valid edit points `devices` at another folder,
 * device files are watched there, not in the folder the gateway started with.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const device = (id: string, machine: string) => `device: ${id}
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: 1502 }
machines:
  - code: ${machine}
    count: { area: holding, address: 0 }
`;

describe('watchConfig', () => {
  const dir = tempDir();
  let watcher: { close(): void } | undefined;
  afterEach(() => watcher?.close());

  it('watches the new devices folder after gateway.yaml names another one', async () => {
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { a: device('dev-a', 'M1') } });
    const oldDir = join(dir, 'devices');
    const newDir = join(dir, 'line2');
    mkdirSync(newDir);
    writeFileSync(join(newDir, 'b.yaml'), device('dev-b', 'M2'));
    const loaded: LoadedConfig[] = [];
    const errors: string[][] = [];
    watcher = watchConfig({
      gatewayFile: cfg.gatewayFile,
      devicesDir: oldDir,
      logger: pino({ level: 'silent' }),
      onValid: (c) => void loaded.push(c),
      onInvalid: (e) => void errors.push(e),
      settleMs: 50,
    });
    const ids = () =>
      loaded
        .at(-1)
        ?.devices.map((d) => d.config.device)
        .join(',');

    writeFileSync(cfg.gatewayFile, readFileSync(cfg.gatewayFile, 'utf8').replace(`devices: ${oldDir}`, `devices: ${newDir}`));
    await eventually(ids, (v) => v === 'dev-b', 10_000, 'the new folder loaded');
    const reloads = loaded.length;

    // The old folder is no longer the configuration: an edit there changes nothing.
    writeFileSync(join(oldDir, 'a.yaml'), device('dev-a', 'M9'));
    await new Promise((r) => setTimeout(r, 400));
    expect(loaded.length).toBe(reloads);

    // A file added to the new folder is picked up.
    writeFileSync(join(newDir, 'c.yaml'), device('dev-c', 'M3'));
    await eventually(ids, (v) => v === 'dev-b,dev-c', 10_000, 'a device added to the new folder');
    expect(errors).toEqual([]);
  });
});
