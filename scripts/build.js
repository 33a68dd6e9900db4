#!/usr/bin/env node
// Bundles src/ into dist/cli/ (esbuild): main.js, what `npm start`, the bin and the service
// run, and the chunks it imports — lazily where src/ imports lazily (each verb, each
// protocol, the demo, the uplink's undici), so each still loads only when used. A handful of
// files instead of ~290 modules before the status page listens (README "Performance").
// Every output sits in dist/cli/, two folders below the checkout like src/core/version.ts,
// which reads ../../package.json, and the web server serves the page from ./page/ beside it.
// Run by `npm install` / `npm ci` (prepare) and before the tests; types are checked by
// `npm run typecheck`, not here.
import { cpSync, rmSync } from 'node:fs';
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
cpSync(new URL('src/web/page/', root), new URL('page/', out), { recursive: true });
