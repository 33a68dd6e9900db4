/**
 * Secrets written into a configuration file as they are, not as `${ENV}`: such a file must
 * be readable by its owner only. The loader finds them; `readableSecretWarnings` says which
 * files others can read, with the command that fixes it.
 */
import { statSync } from 'node:fs';
import { isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { displayPath, formatPath } from './errors.js';
import { hasUrlPassword, isSecretPath } from './words.js';

export interface ConfigWarning {
  /** Stable, for logs: operators and tests match on it. */
  event: 'config.secret_readable';
  file: string;
  message: string;
}

/** Key paths of the secrets whose value is written in the file itself. Call before `${ENV}` expansion. */
export function clearSecrets(doc: Document): string[] {
  const found: string[] = [];
  visit(doc, {
    Pair: (_, pair, ancestors) => {
      const path = keyPath([...ancestors, pair]);
      const value = pair.value;
      if (!isScalar(value) || typeof value.value !== 'string' || value.value === '' || value.value.includes('${')) return;
      // A password inside a URL (prodsmart.sharedBudget.redis) is as much a secret as a password key.
      if (isSecretPath(path) || hasUrlPassword(value.value)) {
        found.push(formatPath(path));
      }
    },
  });
  return found;
}

function keyPath(ancestors: readonly unknown[]): (string | number)[] {
  const path: (string | number)[] = [];
  ancestors.forEach((node, i) => {
    if (isPair(node)) path.push(String(isScalar(node.key) ? node.key.value : node.key));
    else if (isSeq(node)) path.push(node.items.indexOf(ancestors[i + 1] as never));
  });
  return path;
}

/** Who reads the files: the gateway's user and group (the service user, or whoever runs the CLI). */
export interface Reader {
  uid: number;
  gid: number;
}

const currentReader = (): Reader => ({ uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 });

/**
 * One warning per file that holds a secret in clear and that users other than the reader
 * can read: any user (o+r), or a group that is not the reader's (g+r). install.sh gives
 * gateway.yaml root:<service group> 0640: the service reads it through its group, so that
 * is no warning, and the fix keeps the group's read (640) when the reader does not own the file.
 */
export function readableSecretWarnings(files: { file: string; secrets: string[] }[], reader: Reader = currentReader()): ConfigWarning[] {
  return files.flatMap(({ file, secrets }) => {
    if (secrets.length === 0) return [];
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return [];
    const byOthers = (stat.mode & 0o004) !== 0 || ((stat.mode & 0o040) !== 0 && stat.gid !== reader.gid);
    if (!byOthers) return [];
    const mode = stat.uid === reader.uid ? '600' : '640';
    const shown = displayPath(file);
    return [
      {
        event: 'config.secret_readable' as const,
        file: shown,
        message: `${shown}: holds a secret in clear (${secrets.join(', ')}) and is readable by other users; run: chmod ${mode} ${shown}`,
      },
    ];
  });
}
