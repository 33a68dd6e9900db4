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
let sourcemapCodec;
try {
  esbuild = await import('esbuild');
  sourcemapCodec = await import('@jridgewell/sourcemap-codec');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write(
    'Cannot build dist/: the dev dependencies it needs (esbuild, @jridgewell/sourcemap-codec) are not installed. Install with the dev dependencies (`npm ci`), then `npm prune --omit=dev` if they must go, as systemd/install.sh does.\n',
  );
  process.exit(1);
}
const { dependencies } = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
// Pure JavaScript loaded at every start: bundled (pino with the dependencies it brings;
// src/core/log.ts uses no transport, whose worker thread starts by file path). Every other
// dependency stays in node_modules: native addons (better-sqlite3, serialport) must; the
// protocol stacks and pino-pretty load lazily and only when used.
const bundled = new Set(['zod', 'yaml', 'undici', 'pino']);

// An `import … from 'node:x'` in the bundle would load node:x when its chunk loads and build
// its ESM facade, which reads every export (node:http's loads Node's own undici: ~50 ms).
// Instead each such import gets an object whose getters load the module through
// process.getBuiltinModule at first use, so node:crypto, child_process… load when a request,
// a verb or a device needs them (bench/startup). Named, namespace and default imports all
// become property reads on it (esbuild's CommonJS interop): src/ imports as usual, but reading
// an import's value at load (`newId: randomUUID`) loads the module then. Left as they are: a
// module whose default export is a function (node:events, node:module; a default of getters
// could not be called), and the bundled CommonJS packages' require() (they destructure at load).
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (args.kind !== 'import-statement') return undefined;
      const mod = process.getBuiltinModule(args.path);
      if (!mod || typeof mod === 'function') return undefined;
      return { path: args.path, namespace: 'lazy-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const names = Object.keys(process.getBuiltinModule(args.path)).filter((n) => n !== 'default');
      const getters = names.map((n) => `${JSON.stringify(n)}: { get: () => load()[${JSON.stringify(n)}], enumerable: true }`);
      return {
        loader: 'js',
        contents: `let m;\nconst load = () => (m ??= process.getBuiltinModule(${JSON.stringify(args.path)}));\nmodule.exports = Object.defineProperties({}, {\n${getters.join(',\n')}\n});\n`,
      };
    });
  },
};

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
  // yaml, undici and pino are CommonJS: in an ES module their require() of node: modules needs one.
  banner: { js: "import { createRequire as __sfgCreateRequire } from 'node:module'; const require = __sfgCreateRequire(import.meta.url);" },
  // Stack traces name the src/ files (the bin turns source maps on).
  sourcemap: 'linked',
  sourcesContent: false,
  // Without comments and blank space (names are kept): V8 holds every chunk's source for the
  // process's life, and a comment's one non-ASCII character made a chunk's whole source two
  // bytes a character and its decode at start the slower one: 1.79 → 1.34 MB of source, all
  // ASCII (esbuild escapes the rest). The licences' comments go to *.LEGAL.txt beside them.
  minifyWhitespace: true,
  legalComments: 'external',
  logLevel: 'warning',
  plugins: [lazyBuiltins, withoutHttp2],
});
// Source maps for src/ only. Node parses a chunk's map into the heap, and keeps it, the first
// time a stack trace passes through that chunk: the chunk with zod, yaml and pino took 12.9 MB
// (bench/footprint), and a stack through the library code is read in dist/'s terms anyway.
for (const file of readdirSync(out).filter((f) => f.endsWith('.js.map'))) {
  const map = JSON.parse(readFileSync(new URL(file, out), 'utf8'));
  const library = map.sources.map((source) => source.includes('node_modules/'));
  // A segment is [column] or [column, source, line, column, name?]: keep those not in a library.
  const kept = sourcemapCodec.decode(map.mappings).map((line) => line.filter((segment) => segment.length === 1 || !library[segment[1]]));
  writeFileSync(new URL(file, out), JSON.stringify({ ...map, mappings: sourcemapCodec.encode(kept) }));
}
cpSync(new URL('src/web/page/', root), new URL('page/', out), { recursive: true });
