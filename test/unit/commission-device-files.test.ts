import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BACKUPS_KEPT, DeviceFileError, DeviceFiles, hashOf } from '../../src/web/commission/device-files.js';
import { ManualClock } from '../helpers/clocks.js';
import { tempDir } from '../helpers/tmp.js';

const v1 = 'device: press-1\n# v1\n';
const v2 = 'device: press-1\n# v2\n';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof DeviceFileError) return err.code;
    throw err;
  }
  return undefined;
}

describe('device files written by commissioning', () => {
  const root = tempDir();
  let devices: string;
  let backups: string;
  let clock: ManualClock;
  let files: DeviceFiles;
  beforeEach(() => {
    devices = join(root, 'devices');
    backups = join(root, 'commission', 'backups');
    mkdirSync(devices);
    clock = new ManualClock(Date.parse('2026-12-02T02:40:00.000Z'));
    files = new DeviceFiles(devices, backups, clock);
  });

  it('refuses a save when the file changed since it was loaded, and leaves it as it is', () => {
    writeFileSync(join(devices, 'press.yaml'), v1);
    const loaded = hashOf(v1);
    writeFileSync(join(devices, 'press.yaml'), '# edited by hand meanwhile\n');
    expect(codeOf(() => files.save('press.yaml', v2, loaded))).toBe('SFG_COMMISSION_CONFLICT');
    expect(readFileSync(join(devices, 'press.yaml'), 'utf8')).toBe('# edited by hand meanwhile\n');
    // A new file must not exist yet.
    expect(codeOf(() => files.save('press.yaml', v2, null))).toBe('SFG_COMMISSION_CONFLICT');
  });

  it('writes through a temp file it does not leave behind, keeps the mode, and backs the old content up with its time', () => {
    writeFileSync(join(devices, 'press.yaml'), v1, { mode: 0o640 });
    const saved = files.save('press.yaml', v2, hashOf(v1));
    expect(saved).toEqual({ hash: hashOf(v2), backup: 'press.yaml.2026-12-02T02-40-00.000Z.yaml' });
    expect(readFileSync(join(devices, 'press.yaml'), 'utf8')).toBe(v2);
    expect(statSync(join(devices, 'press.yaml')).mode & 0o777).toBe(0o640);
    expect(readdirSync(devices)).toEqual(['press.yaml']);
    expect(readFileSync(join(backups, saved.backup!), 'utf8')).toBe(v1);
    expect(files.backups('press.yaml')).toEqual([{ id: saved.backup, savedAt: '2026-12-02T02:40:00.000Z' }]);
  });

  it('creates a new file only its owner can read (it may hold a secret)', () => {
    expect(files.save('new.yaml', v1, null)).toEqual({ hash: hashOf(v1) });
    expect(statSync(join(devices, 'new.yaml')).mode & 0o777).toBe(0o600);
  });

  it(`keeps the newest ${BACKUPS_KEPT} backups of a file, newest first, and gives back any of them`, () => {
    writeFileSync(join(devices, 'press.yaml'), 'device: x\n# 0\n');
    for (let i = 1; i <= BACKUPS_KEPT + 5; i++) {
      files.save('press.yaml', `device: x\n# ${i}\n`, hashOf(readFileSync(join(devices, 'press.yaml'))));
      clock.advance(1000);
    }
    const list = files.backups('press.yaml');
    expect(list).toHaveLength(BACKUPS_KEPT);
    expect(files.backup('press.yaml', list[0].id)).toBe(`device: x\n# ${BACKUPS_KEPT + 4}\n`);
    expect(files.backup('press.yaml', list.at(-1)!.id)).toBe('device: x\n# 5\n');
    expect(list.map((b) => b.savedAt)).toEqual([...list.map((b) => b.savedAt)].sort().reverse());
  });

  it('gives two saves within one millisecond two backups', () => {
    writeFileSync(join(devices, 'press.yaml'), v1);
    const a = files.save('press.yaml', v2, hashOf(v1));
    const b = files.save('press.yaml', v1, hashOf(v2));
    expect(a.backup).not.toBe(b.backup);
    expect(files.backups('press.yaml')).toHaveLength(2);
  });

  it('says how to let the service write a devices folder it may not, and leaves the file as it was', () => {
    writeFileSync(join(devices, 'press.yaml'), v1);
    // root writes through a 0500 folder: an immutable folder is read-only to it too.
    const root = process.getuid?.() === 0;
    if (root) execFileSync('chattr', ['+i', devices]);
    else chmodSync(devices, 0o500);
    try {
      expect(codeOf(() => files.save('press.yaml', v2, hashOf(v1)))).toBe('SFG_COMMISSION_READ_ONLY');
    } finally {
      if (root) execFileSync('chattr', ['-i', devices]);
      else chmodSync(devices, 0o700);
    }
    expect(readFileSync(join(devices, 'press.yaml'), 'utf8')).toBe(v1);
  });

  it('refuses names outside the devices folder and unknown backups', () => {
    for (const name of ['../gateway.yaml', 'a/b.yaml', '.hidden.yaml', 'notes.txt']) {
      expect(
        codeOf(() => files.save(name, v1, null)),
        name,
      ).toBe('SFG_COMMISSION_BAD_REQUEST');
    }
    expect(codeOf(() => files.backup('press.yaml', '../../grant.json'))).toBe('SFG_COMMISSION_NOT_FOUND');
  });
});
