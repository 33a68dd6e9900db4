/**
 * dist/'s source maps (scripts/build.js): a position in the gateway's own code maps to its
 * src/ file and line, and nothing maps into node_modules — node parses a chunk's whole map
 * into the heap the first time a stack trace passes through it, and the libraries' mappings
 * made that 12.9 MB for one chunk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { describe, expect, it } from 'vitest';

const dist = new URL('../../dist/cli/', import.meta.url);

function entries(file: string): { source: string; line: number }[] {
  const map = new SourceMap(JSON.parse(readFileSync(new URL(`${file}.map`, dist), 'utf8')));
  const lines = readFileSync(new URL(file, dist), 'utf8').split('\n');
  const found: { source: string; line: number }[] = [];
  lines.forEach((text, line) => {
    for (let column = 0; column < text.length; column += 16) {
      const e = map.findEntry(line, column);
      if ('originalSource' in e && e.originalSource) found.push({ source: e.originalSource, line: e.originalLine });
    }
  });
  return found;
}

describe('dist/ source maps', () => {
  it('map the gateway code to src/ and nothing into node_modules', () => {
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    const all = files.flatMap(entries);
    expect(all.filter((e) => e.source.includes('node_modules/'))).toEqual([]);
    expect(all.some((e) => e.source.endsWith('src/cli/main.ts'))).toBe(true);
    // The start-up failure line of run.ts, where the bundle has it.
    const run = files.find((f) => readFileSync(new URL(f, dist), 'utf8').includes('gateway.start_failed'));
    expect(run).toBeDefined();
    const text = readFileSync(new URL(run!, dist), 'utf8').split('\n');
    const line = text.findIndex((l) => l.includes('gateway.start_failed'));
    const map = new SourceMap(JSON.parse(readFileSync(new URL(`${run}.map`, dist), 'utf8')));
    const entry = map.findEntry(line, text[line].indexOf('gateway.start_failed'));
    const src = readFileSync(new URL('../../src/cli/run.ts', import.meta.url), 'utf8').split('\n');
    expect('originalSource' in entry && entry.originalSource).toMatch(/src\/cli\/run\.ts$/);
    expect(src['originalLine' in entry ? entry.originalLine : -1]).toContain('gateway.start_failed');
  });
});

describe('dist/ chunks', () => {
  // One character beyond ASCII (a comment's "—", a licence's "ä") and V8 holds the chunk's
  // whole source, which it keeps for the process's life, as two bytes a character, and node
  // decodes it on the slower path at every start (bench/startup, bench/footprint).
  it('are ASCII, without comments, so V8 keeps their source one byte a character', () => {
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    const wide = files.filter((f) => /[^\x00-\x7f]/.test(readFileSync(new URL(f, dist), 'latin1')));
    expect(wide).toEqual([]);
    const run = files.map((f) => readFileSync(new URL(f, dist), 'utf8')).find((text) => text.includes('gateway.start_failed'));
    expect(run).not.toMatch(/\/\*\*\s/);
  });
});
