#!/usr/bin/env node
// Runs the JavaScript bundled from src/ into dist/ (`npm install` builds it: the prepare
// script), so no transpiler starts beside the gateway.
import { enableCompileCache, setSourceMapsSupport } from 'node:module';

// A stack trace names the src/ file and line (dist/ carries source maps).
setSourceMapsSupport(true);

// V8's compiled code of dist/ and node_modules, kept between starts (bench/startup). Under
// systemd, PrivateTmp empties the default folder in /tmp every start: the unit's
// CacheDirectory= is kept. A cache that cannot be written only costs the time it saves.
enableCompileCache(process.env.CACHE_DIRECTORY);
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.url ?? err.message).includes('/dist/cli/main.js')) throw err;
  process.stderr.write('shopfloor-gateway is not built: dist/cli/main.js is missing. Run `npm install` (or `npm run build`) in the checkout.\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
// Everything was closed; should a library still hold a handle, do not hang the service
// stop (systemd would wait TimeoutStopSec, then kill). Unref'd: a clean exit is not delayed.
setTimeout(() => process.exit(), 5000).unref();
