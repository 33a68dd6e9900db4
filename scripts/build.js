#!/usr/bin/env node
// Bundles src/ into dist/cli/ (esbuild): main.js, what `npm start`, the bin and the service
// run, and the chunks it imports — lazily where src/ imports lazily (each verb, each
// protocol, the demo, the uplink's undici), so each still loads only when used. A handful of
// files instead of ~290 modules before the status page listens (README "Performance").
// Every output sits in dist/cli/, two folders below the checkout like src/core/version.ts,
// which reads ../../package.json, and the web server serves the page from ./page/ beside it.
// Run by `npm install` / `npm ci` (prepare) and before the tests; types are checked by
// `npm run typecheck`, not here.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const out = new URL('dist/cli/', root);
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write(
    'Cannot build dist/: esbuild (a dev dependency) is not installed. Install with the dev dependencies (`npm ci`), then `npm prune --omit=dev` if they must go, as systemd/install.sh does.\n',
  );
  process.exit(1);
}
const { dependencies } = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
// Pure JavaScript loaded at every start: bundled (pino with the dependencies it brings;
// src/core/log.ts uses no transport, whose worker thread starts by file path). Every other
// dependency stays in node_modules: native addons (better-sqlite3, serialport) must; the
// protocol stacks and pino-pretty load lazily and only when used.
const bundled = new Set(['zod', 'yaml', 'undici', 'pino']);
// undici's HTTP/2 client loads node:http2 (+1.4 MB of heap: node's own modules) with
// every Agent; the MES client's Agent offers only HTTP/1.1 (allowH2: false, uplink/mes-client.ts),
// so the HTTP/2 client is never called and is left out.
const withoutHttp2 = {
  name: 'undici-without-http2',
  setup(build) {
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.includes('/undici/lib/dispatcher/') ? { path: args.importer, namespace: 'undici-without-http2' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'undici-without-http2' }, () => ({
      contents: "module.exports = () => { throw new Error('undici HTTP/2 is not bundled (scripts/build.js): use allowH2: false'); };",
      loader: 'js',
    }));
  },
};
rmSync(new URL('dist/', root), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: fileURLToPath(root),
  entryPoints: ['src/cli/main.ts'],
  outdir: fileURLToPath(out),
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: Object.keys(dependencies).filter((name) => !bundled.has(name)),
  plugins: [withoutHttp2],
  // yaml, undici and pino are CommonJS: in an ES module their require() of node: modules needs one.
  banner: { js: "import { createRequire as __sfgCreateRequire } from 'node:module'; const require = __sfgCreateRequire(import.meta.url);" },
  // Stack traces name the src/ files (the bin turns source maps on).
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});
// Source maps for src/ only. Node parses a chunk's map into the heap, and keeps it, the first
// time a stack trace passes through that chunk: the chunk with zod, yaml and pino took 12.9 MB
// (bench/footprint), and a stack through the library code is read in dist/'s terms anyway.
for (const file of readdirSync(out).filter((f) => f.endsWith('.js.map'))) {
  const map = JSON.parse(readFileSync(new URL(file, out), 'utf8'));
  const library = map.sources.map((source) => source.includes('node_modules/'));
  writeFileSync(new URL(file, out), JSON.stringify({ ...map, mappings: withoutSources(map.mappings, library) }));
}
cpSync(new URL('src/web/page/', root), new URL('page/', out), { recursive: true });

/** A source map's `mappings` without the segments that point into a source marked in `drop`. */
function withoutSources(mappings, drop) {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const decode = (segment) => {
    const values = [];
    let value = 0;
    let shift = 0;
    for (const ch of segment) {
      const digit = B64.indexOf(ch);
      value += (digit & 31) << shift;
      if (digit & 32) shift += 5;
      else {
        values.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
    }
    return values;
  };
  const encode = (values) =>
    values
      .map((v) => {
        let rest = v < 0 ? (-v << 1) | 1 : v << 1;
        let text = '';
        do {
          const digit = rest & 31;
          rest >>>= 5;
          text += B64[rest > 0 ? digit | 32 : digit];
        } while (rest > 0);
        return text;
      })
      .join('');
  // Fields 2–5 are relative to the previous segment of the whole map, field 1 to the line's.
  const read = [0, 0, 0, 0];
  const written = [0, 0, 0, 0];
  return mappings
    .split(';')
    .map((line) => {
      let column = 0;
      let writtenColumn = 0;
      const kept = [];
      for (const segment of line.split(',').filter(Boolean)) {
        const [dc, ...rest] = decode(segment);
        column += dc;
        for (let i = 0; i < rest.length; i++) read[i] += rest[i];
        if (rest.length > 0 && drop[read[0]]) continue;
        const relative = [column - writtenColumn];
        for (let i = 0; i < rest.length; i++) {
          relative.push(read[i] - written[i]);
          written[i] = read[i];
        }
        kept.push(encode(relative));
        writtenColumn = column;
      }
      return kept.join(',');
    })
    .join(';');
}
