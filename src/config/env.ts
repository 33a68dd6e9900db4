/**
 * `${VAR}` and `${VAR:-default}` in string values, expanded at load so secrets stay out
 * of the files. A value that is nothing but one `${VAR}` takes the type its key needs:
 * `port: ${PLC_PORT}` is a number, `password: ${PW}` stays text even when PW is all digits.
 */
import { isMap, isScalar, isSeq, parseDocument, Scalar, type Document, type Node } from 'yaml';
import type * as z from 'zod';
import { formatPath, type ConfigProblemCode } from './errors.js';
import { leafIssues } from './issues.js';

export type Env = Record<string, string | undefined>;

export interface EnvExpansion {
  problems: { path: (string | number)[]; code: Extract<ConfigProblemCode, `SFG_CONFIG_ENV_${string}`>; message: string; variable?: string }[];
  /** Values that were exactly one `${VAR}`, by key path, with their expanded text. */
  whole: Map<string, { scalar: Scalar; text: string }>;
}

const reference = /\$\{([^}]*)\}/g;
const inner = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Expands every string value of `doc` in place. Keys are left alone. */
export function expandEnv(doc: Document, env: Env): EnvExpansion {
  const out: EnvExpansion = { problems: [], whole: new Map() };
  walk(doc.contents as Node | null, [], (scalar, path) => expandScalar(scalar, path, env, out));
  return out;
}

function walk(node: Node | null, path: (string | number)[], visit: (s: Scalar, path: (string | number)[]) => void): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      walk(pair.value as Node | null, [...path, String(key)], visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      walk(item as Node | null, [...path, i], visit);
    });
  } else if (isScalar(node) && typeof node.value === 'string') {
    visit(node, path);
  }
}

function expandScalar(scalar: Scalar, path: (string | number)[], env: Env, out: EnvExpansion): void {
  const text = scalar.value as string;
  if (!text.includes('${')) return;
  let failed = false;
  const expanded = text.replace(reference, (ref, body: string) => {
    const m = inner.exec(body);
    if (!m) {
      out.problems.push({ path, code: 'SFG_CONFIG_ENV_SYNTAX', message: `expected \${NAME} or \${NAME:-default}, got "${ref}"` });
      failed = true;
      return ref;
    }
    const [, name, fallback] = m;
    const value = env[name!];
    // As in the shell: the default also applies to a variable set to the empty string.
    if (fallback !== undefined && (value === undefined || value === '')) return fallback;
    if (value === undefined) {
      out.problems.push({ path, code: 'SFG_CONFIG_ENV_UNSET', message: `environment variable ${name} is not set`, variable: name });
      failed = true;
      return ref;
    }
    return value;
  });
  if (failed) return;
  const isWhole = /^\$\{[^}]*\}$/.test(text);
  scalar.value = isWhole && scalar.type === Scalar.PLAIN ? asYamlScalar(expanded) : expanded;
  if (isWhole) out.whole.set(formatPath(path), { scalar, text: expanded });
}

/** The text as YAML would read it unquoted, so numbers and booleans keep their type. */
function asYamlScalar(text: string): unknown {
  const node = parseDocument(text).contents;
  return isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean') ? node.value : text;
}

/**
 * Gives whole-`${VAR}` values the type the schema asked for where it complained about
 * the type. Returns whether anything changed (then validate again).
 */
export function retypeWholeEnvValues(issues: readonly z.core.$ZodIssue[], whole: EnvExpansion['whole']): boolean {
  let changed = false;
  for (const { issue, path } of leafIssues(issues)) {
    if (issue.code !== 'invalid_type') continue;
    const found = whole.get(formatPath(path));
    const value = found ? coerce(found.text, issue.expected) : undefined;
    if (found && value !== undefined && value !== found.scalar.value) {
      found.scalar.value = value;
      changed = true;
    }
  }
  return changed;
}

function coerce(text: string, expected: string): unknown {
  if (expected === 'string') return text;
  if ((expected === 'number' || expected === 'int') && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (expected === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return undefined;
}
