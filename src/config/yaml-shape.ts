/**
 * Checks of a parsed YAML document that must pass before it is turned into data: how deep
 * it nests, whether every alias has its anchor, whether every merge key (`<<:`) merges a
 * mapping. Iterative, so a hostile file cannot overflow the stack while it is checked.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';

/** Real configurations nest about 6 levels (machines[0].stopReason.map.1). */
const MAX_DEPTH = 64;

export const TOO_DEEP = `nesting too deep: more than ${MAX_DEPTH} levels of mappings and lists`;

export interface ShapeProblem {
  path: (string | number)[];
  /** Offset into the file of the node the problem is about. */
  offset: number;
  message: string;
}

interface Entry {
  node: unknown;
  path: (string | number)[];
  depth: number;
}

/** The first problem of the document's shape, or undefined when it can be converted. */
export function shapeProblem(doc: Document): ShapeProblem | undefined {
  const stack: Entry[] = [{ node: doc.contents, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    const offset = (node as Node | null)?.range?.[0] ?? 0;
    if (depth > MAX_DEPTH) return { path, offset, message: TOO_DEEP };
    if (isAlias(node) && node.resolve(doc) === undefined) {
      // The alias text is not echoed: a value starting with * is often a password.
      return {
        path,
        offset,
        message: 'this value starts with * and YAML reads it as an alias that is not defined; put a value that starts with * or & in quotes',
      };
    }
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        stack.push({ node: item, path: [...path, i], depth: depth + 1 });
      });
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (typeof key === 'symbol') {
          const bad = badMergeSource(doc, pair.value as Node | null);
          if (bad)
            return {
              path: [...path, '<<'],
              offset: bad.range?.[0] ?? offset,
              message: 'a merge key (<<) takes a mapping or an alias of one, such as <<: *template',
            };
        }
        // A key that is itself a mapping or list is named by its place only; the schema rejects it.
        const name = typeof key === 'symbol' ? '<<' : isScalar(pair.key) || pair.key === null ? String(key) : '?';
        stack.push({ node: pair.value, path: [...path, name], depth: depth + 1 });
        if (pair.key !== null && typeof pair.key === 'object') stack.push({ node: pair.key, path: [...path, name], depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * Where a file nests too deeply by its indentation (and `- ` items on one line), for when
 * the YAML parser ran out of stack: the line and column of the first line deeper than the
 * limit. Undefined when the depth is not in the indentation (`[[[[...` on one line).
 */
export function tooDeepAt(text: string): { line: number; column: number } | undefined {
  const indents: number[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const content = /^( *)((?:- +)*)(.?)/.exec(line)!;
    if (content[3] === '' || content[3] === '#') continue;
    const indent = content[1]!.length;
    while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
    indents.push(indent);
    const items = content[2]!.split('-').length - 1;
    if (indents.length + items > MAX_DEPTH) return { line: i + 1, column: indent + 1 };
  }
  return undefined;
}

/** The node that a merge key cannot merge, if any: `<<: 5`, `<<: [*a, text]`. */
function badMergeSource(doc: Document, value: Node | null): Node | null | undefined {
  const mergeable = (n: unknown) => isMap(isAlias(n) ? n.resolve(doc) : n);
  if (isSeq(value)) return value.items.find((item) => !mergeable(item)) as Node | undefined;
  return mergeable(value) ? undefined : value;
}
