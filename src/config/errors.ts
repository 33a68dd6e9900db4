/**
 * What is wrong with the configuration, in a form a technician can act on: every problem
 * names the file, line and column, the key path and what was expected.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { GatewayError } from '../core/errors.js';

/** What kind of problem it is: stable, for code that acts on it (the message is for people). */
export type ConfigProblemCode =
  /** The file (or the devices folder, or any device file in it) does not exist. */
  | 'SFG_CONFIG_NOT_FOUND'
  /** The file exists but cannot be read: permissions, a folder, a symlink loop, not UTF-8. */
  | 'SFG_CONFIG_UNREADABLE'
  /** Not valid YAML, or YAML the gateway refuses: empty, nested too deep, aliases that expand too far. */
  | 'SFG_CONFIG_YAML'
  /** A `${VAR}` whose variable is not set (the problem names it in `variable`). */
  | 'SFG_CONFIG_ENV_UNSET'
  /** A `${...}` that is not `${NAME}` or `${NAME:-default}`. */
  | 'SFG_CONFIG_ENV_SYNTAX'
  /** Valid YAML, but a key or value the schema does not accept. */
  | 'SFG_CONFIG_SCHEMA'
  /** A device id or machine code used twice, or a serial bus set up two ways, across files. */
  | 'SFG_CONFIG_CONFLICT';

export interface ConfigProblem {
  code: ConfigProblemCode;
  /** As shown to the user: relative to the working directory when inside it. */
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it does not exist). */
  line: number;
  column: number;
  /** Key path such as `machines[0].count.address`; empty for the whole file. */
  path: string;
  message: string;
  /** For SFG_CONFIG_ENV_UNSET: the variable's name. */
  variable?: string;
}

/** The configuration cannot be used; `problems` says every reason, each with its own code. */
export class ConfigError extends GatewayError<'SFG_CONFIG_INVALID'> {
  constructor(readonly problems: ConfigProblem[]) {
    super('SFG_CONFIG_INVALID', problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return [where, p.path, p.message].filter((s) => s !== '').join('  ');
}

/** `machines[0].count.address`; a key that is empty or holds a space, dot, bracket or quote is quoted (`[""]`, `["a b"]`), so it never reads as the whole file. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, seg) => {
    if (typeof seg === 'number') return `${out}[${seg}]`;
    const key = String(seg);
    if (key === '' || /[\s.[\]"]/.test(key)) return `${out}[${JSON.stringify(key)}]`;
    return out === '' ? key : `${out}.${key}`;
  }, '');
}

/** A file name as the user would type it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file);
}

export function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.column - b.column;
}
