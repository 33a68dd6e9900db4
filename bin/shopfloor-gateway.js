#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so there is no build step to forget on a plant PC.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Everything was closed; should a library still hold a handle, do not hang the service
// stop (systemd would wait TimeoutStopSec, then kill). Unref'd: a clean exit is not delayed.
setTimeout(() => process.exit(), 5000).unref();
