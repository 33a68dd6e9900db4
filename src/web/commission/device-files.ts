/**
 * The device files commissioning reads and writes: named by file name in the devices folder
 * (no folders, no hidden files), known by the SHA-256 of their bytes. A save refuses when the
 * file changed since the page loaded it, backs the old file up with its time
 * (`<commission>/backups/<file>.<time>.yaml`, the newest BACKUPS_KEPT per file), and writes
 * atomically. All of it is synchronous, so two saves in this process cannot interleave.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from '../../core/errors.js';
import { writeFileAtomic } from './atomic-write.js';

export const BACKUPS_KEPT = 20;

export type DeviceFileCode = 'SFG_COMMISSION_BAD_REQUEST' | 'SFG_COMMISSION_CONFLICT' | 'SFG_COMMISSION_NOT_FOUND' | 'SFG_COMMISSION_READ_ONLY';

export class DeviceFileError extends GatewayError<DeviceFileCode> {}

const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.ya?ml$/;

export function hashOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class DeviceFiles {
  constructor(
    readonly devicesDir: string,
    private readonly backupsDir: string,
    private readonly clock: { now(): number },
  ) {}

  /** The device files' names, sorted. */
  list(): string[] {
    return readdirSync(this.devicesDir)
      .filter((name) => FILE_NAME.test(name) && statSync(join(this.devicesDir, name), { throwIfNoEntry: false })?.isFile())
      .sort();
  }

  /** Absolute path of a device file name; throws BAD_REQUEST for anything else (`../x.yaml`, `a/b.yaml`). */
  path(file: string): string {
    if (!FILE_NAME.test(file)) throw new DeviceFileError('SFG_COMMISSION_BAD_REQUEST', `"${file}" is not a device file name (name.yaml, no folders)`);
    return join(this.devicesDir, file);
  }

  /** The file's text, or undefined when it does not exist. */
  read(file: string): string | undefined {
    try {
      return readFileSync(this.path(file), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The hash of the file's bytes (what `save` compares), null when it does not exist. */
  hash(file: string): string | null {
    const bytes = readBytes(this.path(file));
    return bytes === undefined ? null : hashOf(bytes);
  }

  /**
   * Writes `text` if the file still has `baseHash` (null: it must not exist yet). Returns
   * the new hash and the backup id of the old content (none for a new file).
   */
  save(file: string, text: string, baseHash: string | null): { hash: string; backup?: string } {
    const path = this.path(file);
    const current = readBytes(path);
    const currentHash = current === undefined ? null : hashOf(current);
    if (currentHash !== baseHash) {
      throw new DeviceFileError(
        'SFG_COMMISSION_CONFLICT',
        current === undefined ? `${file} no longer exists; reload it` : `${file} changed since it was loaded; reload it and make the change again`,
      );
    }
    const backup = current === undefined ? undefined : this.backUp(file, current);
    // A device file may hold a secret in clear: a new one is the gateway's alone.
    const mode = current === undefined ? 0o600 : statSync(path).mode & 0o777;
    try {
      writeFileAtomic(path, text, mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
      // The systemd unit installs the devices folder read-only to the service (ProtectSystem=strict).
      throw new DeviceFileError(
        'SFG_COMMISSION_READ_ONLY',
        `the gateway may not write ${this.devicesDir} (${code}); nothing saved. Under systemd: \`systemctl edit shopfloor-gateway\` with ` +
          `[Service] ReadWritePaths=${this.devicesDir}, and let the service user write the folder (chgrp shopfloor-gateway, chmod 0770)`,
        { cause: err },
      );
    }
    return { hash: hashOf(text), ...(backup ? { backup } : {}) };
  }

  /** Backups of `file`, newest first. */
  backups(file: string): { id: string; savedAt: string }[] {
    this.path(file);
    let names: string[];
    try {
      names = readdirSync(this.backupsDir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.startsWith(`${file}.`) && BACKUP_TIME.test(name.slice(file.length + 1)))
      .map((id) => ({ id, savedAt: fromStamp(id.slice(file.length + 1, -'.yaml'.length)) }))
      .sort((a, b) => (a.savedAt < b.savedAt ? 1 : -1));
  }

  /** The text of backup `id` of `file`. */
  backup(file: string, id: string): string {
    if (!this.backups(file).some((b) => b.id === id)) throw new DeviceFileError('SFG_COMMISSION_NOT_FOUND', `no backup ${id} of ${file}`);
    return readFileSync(join(this.backupsDir, id), 'utf8');
  }

  private backUp(file: string, bytes: Buffer): string {
    let at = this.clock.now();
    // Two saves within a millisecond still get two backups.
    while (statSync(join(this.backupsDir, backupName(file, at)), { throwIfNoEntry: false })) at++;
    const id = backupName(file, at);
    writeFileAtomic(join(this.backupsDir, id), bytes, 0o600);
    for (const old of this.backups(file).slice(BACKUPS_KEPT)) rmSync(join(this.backupsDir, old.id), { force: true });
    return id;
  }
}

/** ISO time without colons (they are awkward in file names): 2026-12-02T02-40-00.123Z. */
const BACKUP_TIME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.yaml$/;

function backupName(file: string, at: number): string {
  return `${file}.${new Date(at).toISOString().replaceAll(':', '-')}.yaml`;
}

function fromStamp(stamp: string): string {
  return stamp.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3');
}

function readBytes(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
