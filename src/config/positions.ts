/** From a key path (as zod reports it) back to the line and column in the YAML source. */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/** `part: 'key'` points at the key itself (for unknown keys), else at its value. */
export type Locate = (path: readonly PropertyKey[], part?: 'key' | 'value') => Position;

/**
 * The node at `path`, or the deepest existing ancestor when the path does not exist
 * (a missing key is reported at the mapping that lacks it).
 */
function nodeAt(doc: Document, path: readonly PropertyKey[], part: 'key' | 'value' = 'value'): Node | null {
  let node = doc.contents as Node | null;
  for (const [i, seg] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc) ?? node;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) return node;
      const key = pair.key as Node | null;
      if (part === 'key' && i === path.length - 1) return key;
      node = (pair.value as Node | null) ?? key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg] as Node;
    } else {
      return node;
    }
  }
  return node;
}

function positionOf(node: Node | null, lines: LineCounter): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  return positionAt(offset, lines);
}

export function positionAt(offset: number, lines: LineCounter): Position {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

export function locator(doc: Document, lines: LineCounter): Locate {
  return (path, part) => positionOf(nodeAt(doc, path, part), lines);
}
