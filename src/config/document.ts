/** One YAML configuration file: read, parse with positions, expand `${ENV}`, validate. */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { expandEnv, retypeWholeEnvValues, type Env } from './env.js';
import { byPosition, displayPath, formatPath, type ConfigProblem } from './errors.js';
import { validate } from './issues.js';
import { locator, positionAt, type Locate, type Position } from './positions.js';

export interface ParsedFile<T> {
  /** Present only when the file has no problem. */
  value?: T;
  /** The file's content after `${ENV}` expansion, also when invalid. */
  data: unknown;
  problems: ConfigProblem[];
  locate: Locate;
}

/** `what` completes "the file is empty; expected ...". */
export function parseConfigFile<S extends z.ZodType>(file: string, schema: S, vars: Env, what: string): ParsedFile<z.output<S>> {
  const shown = displayPath(file);
  const at = (pos: Position, path: string, message: string): ConfigProblem => ({ file: shown, ...pos, path, message });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { data: undefined, problems: [at({ line: 0, column: 0 }, '', readFailure(err))], locate: () => ({ line: 0, column: 0 }) };
  }
  const lines = new LineCounter();
  // merge: lets a plant share a source template with `<<: *anchor`.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const locate = locator(doc, lines);
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: what the parser reports after it is mostly the same mistake echoing on.
    return { data: undefined, problems: [at(positionAt(syntax.pos[0], lines), '', syntaxMessage(syntax.message, text, syntax.pos[0]))], locate };
  }
  if (doc.contents === null) return { data: undefined, problems: [at({ line: 1, column: 1 }, '', `the file is empty; expected ${what}`)], locate };

  const env = expandEnv(doc, vars);
  const problems = env.problems.map((p) => at(locate(p.path), formatPath(p.path), p.message));
  // A `${VAR}` that could not be expanded would only fail validation again at the same key.
  const reported = new Set(problems.map((p) => p.path));
  let data: unknown;
  try {
    data = doc.toJS();
  } catch {
    // An unresolved alias: YAML read a value starting with `*` (a password, say) as a
    // reference. Its message quotes the text, so it is never passed on.
    let offset = 0;
    visit(doc, { Alias: (_, node) => ((offset = node.range?.[0] ?? 0), visit.BREAK) });
    const message = 'this value starts with * and YAML reads it as an alias that is not defined; put a value that starts with * or & in quotes';
    return { data: undefined, problems: [...problems, at(positionAt(offset, lines), '', message)], locate };
  }
  let result = validate(schema, data);
  if (!result.ok && retypeWholeEnvValues(result.issues, env.whole)) result = validate(schema, (data = doc.toJS()));
  if (!result.ok) {
    for (const p of result.problems) {
      const path = formatPath(p.path);
      if (!reported.has(path)) problems.push(at(locate(p.path, p.part), path, p.message));
    }
  }
  problems.sort(byPosition);
  return result.ok && problems.length === 0 ? { value: result.value, data, problems, locate } : { data, problems, locate };
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, expected a YAML file';
  if (code === 'EACCES') return 'cannot be read: permission denied';
  return `cannot be read: ${(err as Error).message}`;
}

function syntaxMessage(message: string, text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  // `{ address: ${ADDR} }` is the usual cause: braces end a flow mapping early.
  const hint = line.includes('${') ? '; inside { } or [ ], write "${VAR}" in quotes' : '';
  // The parser may quote the offending text, which can be a secret; line:col points at it anyway.
  return `YAML syntax error: ${message.replace(/: ".*"$/, '')}${hint}`;
}
