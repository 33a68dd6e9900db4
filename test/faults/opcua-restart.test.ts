/**
 * The node-opcua server restarted mid-run, end to end: the gateway process reads the
 * simulated line (subscription or polling) and delivers to the MES sandbox. The line keeps
 * counting while its OPC UA server is down, as a PLC does. Afterwards the MES must hold
 * exactly what the line made since the gateway first saw it, reached by strictly rising
 * counts, none refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startOpcuaSim, type OpcuaSim } from '../../src/sim/opcua-server.js';
import { startGateway } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { ownedTempDir, tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const M = 'LINE1';
const WASTE = 'Scrap';

describe('OPC UA server restart: the MES ends with exactly what the line made', () => {
  const dir = tempDir('sfg-opcua-restart-');
  const defer = deferCleanup();
  // One server for the file: making its certificate takes seconds.
  const pki = ownedTempDir('sfg-opcua-restart-pki-');
  let sim: OpcuaSim;
  beforeAll(async () => {
    sim = await startOpcuaSim({ port: await freePort(), pkiDir: pki.path });
  });
  afterAll(async () => {
    await sim?.close();
    pki.remove();
  });

  for (const mode of ['subscribe', 'poll'] as const) {
    it(`${mode}: the server restarts while the line counts on`, async () => {
      sim.set('Line1.Counter', 7000);
      sim.set('Line1.Waste', 30);
      const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: { [M]: { waste: [WASTE] } } });
      defer(() => mes.close());
      let made = 0;
      let scrapped = 0;
      const produce = async (steps: number) => {
        for (let i = 0; i < steps; i++) {
          sim.increment('Line1.Counter', 3);
          made += 3;
          if (i % 4 === 0) {
            sim.increment('Line1.Waste');
            scrapped += 1;
          }
          // A step per sampling interval or so; the count must not depend on seeing each.
          await new Promise((r) => setTimeout(r, 60));
        }
      };

      const cfg = writeConfig(dir, {
        mesUrl: mes.url,
        devices: {
          line1: `device: line1
protocol: opcua
pollIntervalMs: 100
connection: { endpointUrl: "${sim.endpointUrl}", mode: ${mode}, samplingIntervalMs: 50, trustOnFirstUse: true }
machines:
  - code: ${M}
    initialCount: zero
    count: { nodeId: "ns=1;s=Line1.Counter" }
    waste:
      - code: ${WASTE}
        source: { nodeId: "ns=1;s=Line1.Waste" }
`,
        },
      });
      const gw = startGateway(cfg.gatewayFile);
      defer(() => gw.kill('SIGKILL'));
      for (const signal of ['count', `waste:${WASTE}`]) await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.signal === signal, 30_000);
      await produce(10);
      await eventually(
        () => mes.state[M].count,
        (c) => c === made,
        20_000,
        'counts before the restart',
      );

      await sim.stop();
      await gw.waitForLog((l) => l.event === 'device.disconnected', 30_000);
      await produce(5);
      await sim.start();
      await gw.waitForLog((l) => l.event === 'device.connected' && gw.logs.indexOf(l) > gw.logs.findIndex((d) => d.event === 'device.disconnected'), 30_000);
      await produce(10);

      const final = await eventually(
        () => ({ count: mes.state[M].count, waste: mes.state[M].waste[WASTE] }),
        (s) => (s.count ?? 0) >= made && (s.waste ?? 0) >= scrapped,
        30_000,
        `MES count ${made} and waste ${scrapped}`,
      );
      expect(final).toEqual({ count: made, waste: scrapped });
      const counts = mes.state[M].counterLog.map((c) => c.count).filter((c): c is number => c !== undefined);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
      expect(mes.requests.filter((r) => r.status !== 200)).toEqual([]);
    });
  }
});
