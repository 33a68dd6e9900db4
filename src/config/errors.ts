/**
 * What is wrong with the configuration, in a form a technician can act on: every problem
 * names the file, line and column, the key path and what was expected.
 */
import { isAbsolute, relative, resolve } from 'node:path';

export interface ConfigProblem {
  /** As shown to the user: relative to the working directory when inside it. */
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it does not exist). */
  line: number;
  column: number;
  /** Key path such as `machines[0].count.address`; empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return [where, p.path, p.message].filter((s) => s !== '').join('  ');
}

/** `machines[0].count.address` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out === '' ? String(seg) : `${out}.${String(seg)}`), '');
}

/** A file name as the user would type it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file);
}

export function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.column - b.column;
}
