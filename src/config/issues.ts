/**
 * Schema validation with zod issues turned into technician-readable problems located
 * by key path: "expected one of holding, input, coil, discrete, got "holdng"".
 */
import type * as z from 'zod';
import { formatPath } from './errors.js';
import { closest, describeValue, isSecretPath, plural, typeWord } from './words.js';

interface PathProblem {
  path: PropertyKey[];
  /** Unknown keys point at the key itself; everything else at the value. */
  part: 'key' | 'value';
  message: string;
}

type Issue = z.core.$ZodIssue;

export type Validation<T> = { ok: true; value: T } | { ok: false; issues: Issue[]; problems: PathProblem[] };

/**
 * Zod fills `message` from the schema when the schema has one (a phrase such as
 * "a non-empty string", or a full sentence for custom rules), else from the error map
 * given to safeParse. This marker tells the two apart.
 */
const noSchemaMessage = '\u0000';

export function validate<S extends z.ZodType>(schema: S, data: unknown): Validation<z.output<S>> {
  // The valid keys are only reachable from the schema while zod builds the issue; the
  // finished issue shares its `keys` array with the one seen here.
  const validKeys: ValidKeys = new WeakMap();
  const result = schema.safeParse(data, {
    // A configuration is parsed once per start or reload: compiling zod's fast path of every
    // object (new Function) would cost more than it saves (bench/startup).
    jitless: true,
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') validKeys.set(iss.keys, shapeKeys(iss.inst));
      return noSchemaMessage;
    },
  });
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues;
  const described = issues.flatMap((i) => describeIssue(i, [], data, validKeys));
  // `addres: 0` is one mistake: "did you mean address" says it all, "address missing" is noise.
  const meant = new Set(described.flatMap((p) => (p.meant ? [formatPath(p.meant)] : [])));
  const problems = described.filter((p) => !(p.missing && meant.has(formatPath(p.path))));
  return { ok: false, issues, problems: problems.map(({ path, part, message }) => ({ path, part, message })) };
}

/** Every issue with its full path, including those inside the branches of a union. */
export function* leafIssues(issues: readonly Issue[], base: PropertyKey[] = []): Generator<{ issue: Issue; path: PropertyKey[] }> {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union') for (const branch of issue.errors) yield* leafIssues(branch, path);
    else yield { issue, path };
  }
}

type ValidKeys = WeakMap<string[], string[]>;

interface Described extends PathProblem {
  missing?: boolean;
  /** For an unknown key: the path of the key it most likely meant. */
  meant?: PropertyKey[];
}

/** `base`: the path of the union an issue of one of its branches belongs to. */
function describeIssue(issue: Issue, base: PropertyKey[], data: unknown, validKeys: ValidKeys): Described[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const valid = validKeys.get(issue.keys) ?? [];
    return issue.keys.map((key) => {
      const near = closest(key, valid);
      return { path: [...path, key], part: 'key', message: unknownKey(key, near, valid), meant: near === undefined ? undefined : [...path, near] };
    });
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0 && !unionOptions(issue)) {
    return closestBranch(issue.errors, path, data).flatMap((i) => describeIssue(i, path, data, validKeys));
  }
  const fromSchema = issue.message !== noSchemaMessage;
  if (issue.code === 'custom') return [{ path, part: 'value', message: fromSchema ? issue.message : 'is not valid' }];
  const value = valueAt(data, path);
  const expected = fromSchema ? issue.message : expectation(issue);
  if (value === undefined) return [{ path, part: 'value', message: `missing, expected ${expected}`, missing: true }];
  const got = describeValue(value, { withType: issue.code === 'invalid_type', secret: isSecretPath(path) });
  return [{ path, part: 'value', message: `expected ${expected}, got ${got}${didYouMean(issue, value)}` }];
}

/**
 * The union branch the user most likely meant: the one whose keys fit the value best
 * (fewest unknown, missing or wrongly-typed keys at its top), then the one with fewest
 * issues. Reporting that branch's issues beats "matches none of the allowed forms".
 */
function closestBranch(branches: Issue[][], path: PropertyKey[], data: unknown): Issue[] {
  const misfits = (branch: Issue[]) =>
    branch.reduce((n, i) => {
      if (i.code === 'unrecognized_keys' && i.path.length === 0) return n + i.keys.length;
      if (i.code === 'invalid_type' && i.path.length <= 1 && (i.path.length === 0 || valueAt(data, [...path, ...i.path]) === undefined)) return n + 1;
      return n;
    }, 0);
  const score = (b: Issue[]) => misfits(b) * 1000 + b.length;
  return branches.reduce((best, b) => (score(b) < score(best) ? b : best));
}

function unknownKey(key: string, near: string | undefined, valid: string[]): string {
  if (near !== undefined) return `unknown key "${key}", did you mean "${near}"?`;
  return valid.length > 0 ? `unknown key "${key}", expected one of ${valid.join(', ')}` : `unknown key "${key}"`;
}

function expectation(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return typeWord(issue.expected);
    case 'invalid_value':
      return oneOf(issue.values);
    case 'invalid_union': {
      const options = unionOptions(issue);
      return options ? oneOf(options) : 'one of the allowed forms';
    }
    case 'too_small':
      return bound(issue.origin, Number(issue.minimum), issue.inclusive !== false, 'min');
    case 'too_big':
      return bound(issue.origin, Number(issue.maximum), issue.inclusive !== false, 'max');
    case 'invalid_format':
      return issue.format === 'regex' ? `text matching ${issue.pattern}` : `a valid ${issue.format}`;
    case 'not_multiple_of':
      return `a multiple of ${issue.divisor}`;
    default:
      return 'a valid value';
  }
}

/** The allowed values of an enum-like union: the discriminator's, or a union of literals. */
function unionOptions(issue: Extract<Issue, { code: 'invalid_union' }>): unknown[] | undefined {
  if ('options' in issue && issue.options) return issue.options;
  const branches = issue.errors;
  const literal = branches.length > 0 && branches.every((b) => b.length === 1 && b[0]!.code === 'invalid_value');
  return literal ? branches.flatMap((b) => (b[0] as Extract<Issue, { code: 'invalid_value' }>).values) : undefined;
}

function oneOf(values: readonly unknown[]): string {
  return values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map(String).join(', ')}`;
}

function bound(origin: string, n: number, inclusive: boolean, side: 'min' | 'max'): string {
  if (origin === 'string') return `${side === 'min' ? 'at least' : 'at most'} ${plural(n, 'character')}`;
  if (origin === 'array') return `${side === 'min' ? 'at least' : 'at most'} ${plural(n, 'item')}`;
  if (side === 'min') return inclusive ? `${n} or more` : `more than ${n}`;
  return inclusive ? `${n} or less` : `less than ${n}`;
}

function didYouMean(issue: Issue, value: unknown): string {
  if (typeof value !== 'string') return '';
  const options = issue.code === 'invalid_value' ? issue.values : issue.code === 'invalid_union' ? unionOptions(issue) : undefined;
  const near = options && closest(value, options.map(String));
  return near !== undefined ? `; did you mean "${near}"?` : '';
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, seg) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined), data);
}

function shapeKeys(schema: unknown): string[] {
  const shape = (schema as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}
