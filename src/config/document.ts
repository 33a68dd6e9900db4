/** One YAML configuration file: read, parse with positions, expand `${ENV}`, validate. */
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type * as z from 'zod';
import { expandEnv, retypeWholeEnvValues, type Env } from './env.js';
import { byPosition, displayPath, formatPath, type ConfigProblem, type ConfigProblemCode } from './errors.js';
import { clearSecrets } from './clear-secrets.js';
import { validate } from './issues.js';
import { locator, positionAt, type Locate, type Position } from './positions.js';
import { shapeProblem, TOO_DEEP, tooDeepAt } from './yaml-shape.js';

export interface ParsedFile<T> {
  /** Present only when the file has no problem. */
  value?: T;
  /** The file's content after `${ENV}` expansion, also when invalid. */
  data: unknown;
  problems: ConfigProblem[];
  locate: Locate;
  /** Key paths of secrets written in the file in clear, not as `${ENV}`. */
  clearSecrets: string[];
}

/** `what` completes "the file is empty; expected ...". */
export function parseConfigFile<S extends z.ZodType>(file: string, schema: S, vars: Env, what: string): ParsedFile<z.output<S>> {
  const read = readText(file);
  if ('error' in read) {
    const problem = { code: read.code, file: displayPath(file), ...read.at, path: '', message: read.error };
    return { data: undefined, problems: [problem], locate: () => ({ line: 0, column: 0 }), clearSecrets: [] };
  }
  return parseConfigText(file, read.text, schema, vars, what);
}

/** `text` as the content of `file` (not read): commissioning checks an edited device file before it is saved. */
export function parseConfigText<S extends z.ZodType>(file: string, text: string, schema: S, vars: Env, what: string): ParsedFile<z.output<S>> {
  const shown = displayPath(file);
  const at = (code: ConfigProblemCode, pos: Position, path: string, message: string): ConfigProblem => ({ code, file: shown, ...pos, path, message });
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseWithPositions(text, lines);
  } catch (err) {
    // The parser recurses per level of block nesting and does not catch its own overflow.
    if (!(err instanceof RangeError)) throw err;
    return {
      data: undefined,
      problems: [at('SFG_CONFIG_YAML', tooDeepAt(text) ?? { line: 1, column: 1 }, '', TOO_DEEP)],
      locate: () => ({ line: 1, column: 1 }),
      clearSecrets: [],
    };
  }
  const locate = locator(doc, lines);
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: what the parser reports after it is mostly the same mistake echoing on.
    // RESOURCE_EXHAUSTION: the parser ran out of stack, wherever that happened to be.
    const problem =
      syntax.code === 'RESOURCE_EXHAUSTION'
        ? at('SFG_CONFIG_YAML', tooDeepAt(text) ?? positionAt(syntax.pos[0], lines), '', TOO_DEEP)
        : at('SFG_CONFIG_YAML', positionAt(syntax.pos[0], lines), '', syntaxMessage(syntax.message, text, syntax.pos[0]));
    return { data: undefined, problems: [problem], locate, clearSecrets: [] };
  }
  if (doc.contents === null)
    return { data: undefined, problems: [at('SFG_CONFIG_YAML', { line: 1, column: 1 }, '', `the file is empty; expected ${what}`)], locate, clearSecrets: [] };
  const shape = shapeProblem(doc);
  if (shape)
    return {
      data: undefined,
      problems: [at('SFG_CONFIG_YAML', positionAt(shape.offset, lines), formatPath(shape.path), shape.message)],
      locate,
      clearSecrets: [],
    };

  const secrets = clearSecrets(doc);
  const env = expandEnv(doc, vars);
  const problems = env.problems.map(({ path, code, message, variable }) => ({
    ...at(code, locate(path), formatPath(path), message),
    ...(variable === undefined ? {} : { variable }),
  }));
  // A `${VAR}` that could not be expanded would only fail validation again at the same key.
  const reported = new Set(problems.map((p) => p.path));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (err) {
    // shapeProblem found every undefined alias and bad merge key: what is left is an
    // alias expanding too often (an "alias bomb") or, through aliases, nesting too deep.
    if (!(err instanceof RangeError || err instanceof ReferenceError)) throw err;
    const message = err instanceof RangeError ? TOO_DEEP : `aliases expand to more than ${MAX_ALIAS_EXPANSION} values; use each anchor fewer times`;
    return { data: undefined, problems: [...problems, at('SFG_CONFIG_YAML', firstAlias(doc, lines), '', message)], locate, clearSecrets: secrets };
  }
  let result = validate(schema, data);
  if (!result.ok && retypeWholeEnvValues(result.issues, env.whole)) {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
    result = validate(schema, data);
  }
  if (!result.ok) {
    for (const p of result.problems) {
      const path = formatPath(p.path);
      if (!reported.has(path)) problems.push(at('SFG_CONFIG_SCHEMA', locate(p.path, p.part), path, p.message));
    }
  }
  problems.sort(byPosition);
  return result.ok && problems.length === 0
    ? { value: result.value, data, problems, locate: reparsingLocator(text), clearSecrets: secrets }
    : { data, problems, locate, clearSecrets: secrets };
}

/**
 * merge: lets a plant share a source template with `<<: *anchor`. uniqueKeys: a key
 * written twice is an error, not "the last one wins".
 */
function parseWithPositions(text: string, lines: LineCounter): Document {
  return parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
}

/**
 * A valid file's locator, kept with the running configuration for the rare message that
 * points into it (a conflict with a file edited later): it parses the text again when
 * asked, rather than keep the YAML document with every node's position (~45 kB a device
 * file, 2.3 MB at 50 devices, against its text's ~1.5 kB; bench/footprint).
 */
function reparsingLocator(text: string): Locate {
  return (path, part) => {
    const lines = new LineCounter();
    return locator(parseWithPositions(text, lines), lines)(path, part);
  };
}

/**
 * Far above any real file (60 machines sharing one 5-key template is 300), far below
 * what would take the gateway's memory.
 */
const MAX_ALIAS_EXPANSION = 10_000;

function firstAlias(doc: Document, lines: LineCounter): Position {
  let offset = 0;
  visit(doc, {
    Alias: (_, node) => {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return positionAt(offset, lines);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The file as text; a file that is not UTF-8 is refused at its first bad byte. */
function readText(file: string): { text: string } | { code: ConfigProblemCode; error: string; at: Position } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { ...readFailure(err), at: { line: 0, column: 0 } };
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { code: 'SFG_CONFIG_UNREADABLE', error: 'not UTF-8 text: save the file as UTF-8', at: firstBadByte(bytes) };
  }
}

/** Line and column (in characters) of the first byte that is not UTF-8. */
function firstBadByte(bytes: Buffer): Position {
  let line = 1;
  let start = 0;
  for (let end = bytes.indexOf(0x0a); ; end = bytes.indexOf(0x0a, start)) {
    const row = bytes.subarray(start, end === -1 ? bytes.length : end);
    if (!isUtf8(row)) return { line, column: badColumn(row) };
    if (end === -1) return { line, column: 1 };
    line++;
    start = end + 1;
  }
}

/** Byte by byte: the decoder throws at the first byte that cannot continue a character. */
function badColumn(row: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let column = 1;
  for (const byte of row) {
    try {
      column += [...decoder.decode(Uint8Array.of(byte), { stream: true })].length;
    } catch {
      return column;
    }
  }
  // The line ends inside a character.
  return column;
}

function readFailure(err: unknown): { code: ConfigProblemCode; error: string } {
  const unreadable = (error: string) => ({ code: 'SFG_CONFIG_UNREADABLE' as const, error });
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { code: 'SFG_CONFIG_NOT_FOUND', error: 'file not found' };
  if (code === 'EISDIR') return unreadable('is a folder, expected a YAML file');
  if (code === 'EACCES') return unreadable('cannot be read: permission denied');
  if (code === 'ELOOP') return unreadable('cannot be read: its symbolic links point at each other in a loop');
  return unreadable(`cannot be read: ${(err as Error).message}`);
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
