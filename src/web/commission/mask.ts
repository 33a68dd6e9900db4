/**
 * Secrets in device YAML as the commissioning page sees it: every secret written in clear
 * (the keys `validate` hides) becomes MASK; `${ENV}` references stay, they name no secret,
 * but a `${VAR:-default}`'s default is masked. On save, a masked value left where the file
 * on disk has that secret at the same key path gets it back, so the page never needs to know it. The text is edited in place (by the
 * nodes' source ranges), so comments and layout survive.
 */
import { parseDocument } from 'yaml';
import { secretScalars } from '../../config/clear-secrets.js';
import { formatPath } from '../../config/errors.js';
import { SECRET_KEYS } from '../../config/words.js';

export const MASK = '********';

/** What the page sees of a secret's value: MASK, or in `${VAR:-default}` the default masked (a default is a secret written in clear). */
function masked(value: string): string {
  return value.includes('${') ? value.replace(/(\$\{[A-Za-z_][A-Za-z0-9_]*:-)[^}]*\}/g, `$1${MASK}}`) : MASK;
}

export function maskSecrets(text: string): string {
  const doc = parseDocument(text, { uniqueKeys: false });
  // A file the parser cannot read still must not show its secrets: mask by line then.
  if (doc.errors.length > 0)
    return text.replace(SECRET_LINE, (_, key: string, value: string) => `${key}${value.includes('${') ? masked(value) : JSON.stringify(MASK)}`);
  const edits = secretsOf(text).flatMap(({ value, range }) => (masked(value) === value ? [] : [{ range, replacement: JSON.stringify(masked(value)) }]));
  return splice(text, edits);
}

const SECRET_LINE = new RegExp(`^(\\s*(?:-\\s+)?["']?(?:${SECRET_KEYS.join('|')})["']?\\s*:\\s*)(\\S.*)$`, 'gm');

/**
 * `edited` with each masked secret put back to the secret at the same key path of `original`.
 * `missing` names the key paths where a MASK has no secret to stand for (a new device):
 * the technician must type it.
 */
export function unmaskSecrets(edited: string, original: string | undefined): { text: string; missing: string[] } {
  const known = new Map(secretsOf(original ?? '').map((s) => [formatPath(s.path), { value: s.value, raw: original!.slice(s.range[0], s.range[1]) }]));
  const missing: string[] = [];
  const edits = secretsOf(edited).flatMap(({ path, value, range }) => {
    if (!value.includes(MASK)) return [];
    const secret = known.get(formatPath(path));
    if (secret === undefined || masked(secret.value) !== value) {
      missing.push(formatPath(path));
      return [];
    }
    return [{ range, replacement: secret.raw }];
  });
  return { text: splice(edited, edits), missing };
}

function secretsOf(text: string): { path: (string | number)[]; value: string; range: [number, number] }[] {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) return [];
  return secretScalars(doc, { withEnv: true }).flatMap(({ path, node }) =>
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
