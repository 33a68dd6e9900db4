/**
 * dist/ leaves undici's HTTP/2 client out (scripts/build.js), so the MES client must keep to
 * HTTP/1.1 even where the MES offers HTTP/2: the real gateway process against the sandbox
 * behind TLS that prefers h2 (ALPN), as an HTTPS MES or its proxy may. The count arrives, and
 * every connection chose http/1.1.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway, statusUrl } from '../helpers/gateway-process.js';
import { makeTestPki } from '../helpers/mosquitto-tls.js';
import { startOneMachine } from '../helpers/one-machine.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

describe('the MES client over HTTPS that offers HTTP/2', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('delivers over HTTP/1.1', async () => {
    const pki = makeTestPki(dir);
    const { yaml, sim, mes } = await startOneMachine(defer);
    const protocols: (string | false | null)[] = [];
    const sockets = new Set<Socket>();
    // TLS in front of the sandbox: h2 first, so a client that offers h2 at all gets it.
    const front = createServer({ key: readFileSync(pki.keyfile), cert: readFileSync(pki.certfile), ALPNProtocols: ['h2', 'http/1.1'] }, (tls: TLSSocket) => {
      protocols.push(tls.alpnProtocol);
      const plain = connect(Number(new URL(mes.url).port), '127.0.0.1');
      for (const s of [tls, plain]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
      }
      tls.pipe(plain).pipe(tls);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    defer(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          front.close(() => resolve());
        }),
    );
    const port = (front.address() as { port: number }).port;
    sim.set('M1', 'count', 3);
    const cfg = writeConfig(dir, { mesUrl: `https://127.0.0.1:${port}`, devices: { plc: yaml } });
    const gw = startGateway(cfg.gatewayFile, { NODE_EXTRA_CA_CERTS: pki.cafile });
    defer(() => gw.kill('SIGKILL'));
    const url = await statusUrl(gw);
    // The first read is the baseline: a count goes to the MES once the gateway has it.
    await eventually(
      async () =>
        ((await (await fetch(`${url}/api/status`)).json()) as { machines: { totals: { count?: { total: number } } }[] }).machines[0]?.totals.count?.total,
      (t) => t === 3,
      20_000,
      'count 3 read',
    );
    sim.set('M1', 'count', 5);
    await eventually(
      () => mes.state.M1?.count,
      (c) => c === 5,
      20_000,
      'count 5 delivered',
    );
    expect(protocols.length).toBeGreaterThan(0);
    expect(new Set(protocols)).toEqual(new Set(['http/1.1']));
  });
});
