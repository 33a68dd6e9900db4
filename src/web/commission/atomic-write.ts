/**
 * Writes a file so that a reader (the config watcher, a crash) sees the old content or the
 * new, never half: a temp file in the same folder, fsync, rename over, fsync of the folder.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Who is to own a file written by root for the service (`commission` run with sudo). */
export interface Owner {
  uid: number;
  gid: number;
}

export function writeFileAtomic(file: string, content: string | Buffer, mode: number, owner?: Owner): void {
  const dir = dirname(file);
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner && created !== undefined) chownSync(dir, owner.uid, owner.gid);
  // Hidden and not *.yaml: the config watcher and the device list skip it.
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    // Exactly `mode`, whatever the umask: a device file keeps its permissions.
    fchmodSync(fd, mode);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  // The rename itself is durable only once the folder's entry is on disk.
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
