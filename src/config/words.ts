/** Values and expectations in words a plant technician reads without knowing zod or YAML. */

/** Keys whose values are never echoed back (error messages end up in logs and tickets). */
const secretKeys = new Set(['password', 'apiKey', 'apiSecret', 'accessToken', 'token']);

export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && secretKeys.has(last);
}

const typeWords: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};

export function typeWord(expected: string): string {
  return typeWords[expected] ?? `a ${expected}`;
}

/**
 * A value as seen in the file. `withType` prefixes strings and numbers with their kind,
 * for type mismatches where `"5"` and `5` would otherwise look alike.
 */
export function describeValue(value: unknown, opts: { withType?: boolean; secret?: boolean } = {}): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return 'a mapping (key: value)';
  if (opts.secret) return `${typeof value === 'string' ? 'a string' : typeWord(typeof value)} (value hidden)`;
  if (typeof value === 'string') return `${opts.withType ? 'string ' : ''}${JSON.stringify(clip(safeUrl(value)))}`;
  if (typeof value === 'number') return `${opts.withType ? 'number ' : ''}${value}`;
  return String(value);
}

/**
 * A URL without the `user:password@` it may carry, for logs, errors and pages. Text that is
 * not a valid URL loses everything up to its last `@` after the scheme: a password may
 * contain `/` or `#`.
 */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    return url.replace(/\/\/[^/]*@/, '//');
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, '$1');
  }
}

/** Whether text is a URL with a password in it (`redis://:secret@host`). */
export function hasUrlPassword(text: string): boolean {
  return URL.canParse(text) && new URL(text).password !== '';
}

/** Whether a URL carries `user:password@` (an unparseable one never reaches a connection). */
export function hasUrlCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The candidate a typo most likely meant, if one is close enough to be a useful hint. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edit distance counting a swap of two neighbours as one edit ("hots" → "host"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
