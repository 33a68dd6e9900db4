/**
 * Secrets written into a configuration file as they are, not as `${ENV}`: such a file must
 * be readable by its owner only. The loader finds them; `readableSecretWarnings` says which
 * files others can read, with the command that fixes it.
 */
import { statSync } from 'node:fs';
import { isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { displayPath, formatPath } from './errors.js';
import { isSecretPath } from './words.js';

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
      if (isSecretPath(path) && isScalar(value) && typeof value.value === 'string' && value.value !== '' && !value.value.includes('${')) {
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

/** One warning per file that holds a secret in clear and whose mode lets group or others read it. */
export function readableSecretWarnings(files: { file: string; secrets: string[] }[]): ConfigWarning[] {
  return files.flatMap(({ file, secrets }) => {
    if (secrets.length === 0) return [];
    const mode = statSync(file, { throwIfNoEntry: false })?.mode ?? 0;
    if ((mode & 0o044) === 0) return [];
    const shown = displayPath(file);
    return [{ event: 'config.secret_readable' as const, file: shown, message: `${shown}: holds a secret in clear (${secrets.join(', ')}) and is readable by other users; run: chmod 600 ${shown}` }];
  });
}
