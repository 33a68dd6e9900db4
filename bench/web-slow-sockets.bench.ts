/**
 * Benchmark (not a test): how long the status server holds sockets that send half a request
 * or nothing, and how fast loopback /healthz answers meanwhile. Run: npm run bench -- web-slow-sockets
 */
import { connect } from 'node:net';
import pino from 'pino';
import { startWebServer } from '../src/web/server.js';
import { fixtureProvider } from '../test/helpers/web-fixture.js';

const web = await startWebServer({ listen: '127.0.0.1:0', provider: fixtureProvider(), logger: pino({ level: 'silent' }) });
const start = performance.now();
const held: Promise<number>[] = [];
for (const [localAddress, first] of [
  ['127.0.0.2', 'GET /healthz HTTP/1.1\r\nHost: x\r\n'],
  ['127.0.0.3', ''],
]) {
  for (let i = 0; i < 300; i++) {
    held.push(
      new Promise((resolve) => {
        const s = connect({ port: web.port, host: '127.0.0.1', localAddress }, () => s.write(first));
        s.on('error', () => {});
        s.resume(); // without reading, the server's close would go unseen
        s.once('close', () => resolve(performance.now() - start));
      }),
    );
  }
}
const health: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  const res = await fetch(new URL('/healthz', web.url));
  await res.text();
  health.push(performance.now() - t);
}
const closedAfter = (await Promise.all(held)).sort((a, b) => a - b);
const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(0);
console.log(`600 slow sockets from 2 addresses: closed after p50 ${at(closedAfter, 0.5)} ms, p90 ${at(closedAfter, 0.9)} ms, last ${at(closedAfter, 1)} ms`);
console.log(
  `loopback /healthz meanwhile: first ${health[0].toFixed(0)} ms (during the flood), the next 19 at most ${at(
    health.slice(1).sort((a, b) => a - b),
    1,
  )} ms`,
);
await web.close();
