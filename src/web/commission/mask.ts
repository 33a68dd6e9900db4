/**
 * Secrets in device YAML as the commissioning page sees it: every secret written in clear
 * (the keys `validate` hides) becomes MASK; `${ENV}` references stay, they name no secret.
 * On save, a MASK left where the file on disk has a secret at the same key path gets that
 * secret back, so the page never needs to know it. The text is edited in place (by the
 * nodes' source ranges), so comments and layout survive.
 */
import { parseDocument } from 'yaml';
import { secretScalars } from '../../config/clear-secrets.js';
import { formatPath } from '../../config/errors.js';
import { SECRET_KEYS } from '../../config/words.js';

export const MASK = '********';

export function maskSecrets(text: string): string {
  const doc = parseDocument(text, { uniqueKeys: false });
  // A file the parser cannot read still must not show its secrets: mask by line then.
  if (doc.errors.length > 0)
    return text.replace(SECRET_LINE, (_, key: string, value: string) => (value.includes('${') ? `${key}${value}` : `${key}${JSON.stringify(MASK)}`));
  return splice(
    text,
    secretsOf(text).map(({ range }) => ({ range, replacement: JSON.stringify(MASK) })),
  );
}

const SECRET_LINE = new RegExp(`^(\\s*(?:-\\s+)?["']?(?:${SECRET_KEYS.join('|')})["']?\\s*:\\s*)(\\S.*)$`, 'gm');

/**
 * `edited` with each MASK put back to the secret at the same key path of `original`.
 * `missing` names the key paths where a MASK has no secret to stand for (a new device):
 * the technician must type it.
 */
export function unmaskSecrets(edited: string, original: string | undefined): { text: string; missing: string[] } {
  const known = new Map(secretsOf(original ?? '').map((s) => [formatPath(s.path), original!.slice(s.range[0], s.range[1])]));
  const missing: string[] = [];
  const edits = secretsOf(edited).flatMap(({ path, value, range }) => {
    if (value !== MASK) return [];
    const secret = known.get(formatPath(path));
    if (secret === undefined) {
      missing.push(formatPath(path));
      return [];
    }
    return [{ range, replacement: secret }];
  });
  return { text: splice(edited, edits), missing };
}

function secretsOf(text: string): { path: (string | number)[]; value: string; range: [number, number] }[] {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) return [];
  return secretScalars(doc).flatMap(({ path, node }) =>
    node.range ? [{ path, value: String(node.value), range: [node.range[0], node.range[1]] as [number, number] }] : [],
  );
}

function splice(text: string, edits: { range: [number, number]; replacement: string }[]): string {
  let out = text;
  for (const { range, replacement } of [...edits].sort((a, b) => b.range[0] - a.range[0])) {
    out = out.slice(0, range[0]) + replacement + out.slice(range[1]);
  }
  return out;
}
