/**
 * Kill -9 at the worst moments: after the MES accepted a counter but before the gateway
 * heard the answer (the sandbox answers slowly), and at random while counts rise. After
 * the last restart the MES must hold exactly what the PLC produced: nothing lost, nothing
 * doubled, and the queue not blocked by the re-sent value the MES already had.
 */
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startGateway, statusUrl, type GatewayProcess } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const device = (port: number) => `device: line
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 1000 }
pollIntervalMs: 50
machines:
  - code: M1
    count: { area: holding, address: 0, type: uint32 }
    waste:
      - code: W1
        source: { area: holding, address: 2 }
`;

describe('crash safety', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('SIGKILL repeatedly while counts rise and the MES answers slowly loses and doubles nothing', async () => {
    const mes = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
      machines: { M1: { waste: ['W1'] } },
      delayMs: 400,
    });
    defer(() => mes.close());
    const plc = await startPymodbus();
    defer(() => plc.kill());
    let gw: GatewayProcess | undefined;
    defer(() => gw?.kill('SIGKILL'));
    let count = 1000;
    let waste = 0;
    const produce = async (parts: number, scrap = 0) => {
      count += parts;
      waste += scrap;
      await plc!.set('holding', 0, 0, count); // uint32, big word order: high word 0
      await plc!.set('holding', 2, waste);
    };
    await produce(0);
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { line: device(plc.port) }, timeoutMs: 5000 });
    const accepted = () => mes!.state.M1.counterLog.length;

    // Kill right after the MES accepted, while its answer is still on the way. The PLC
    // does not move before the restart, so the gateway must re-send the same total.
    for (let round = 0; round < 3; round++) {
      gw = startGateway(cfg.gatewayFile);
      // The first run must have seen the counter before production, or it starts from there.
      await gw.waitForLog((l) => (round === 0 ? l.event === 'counter.first_seen' && l.signal === 'count' : l.event === 'gateway.started'));
      const before = accepted();
      await produce(7 + round, 1);
      await eventually(accepted, (n) => n > before, 20_000, 'a counter accepted by the MES');
      await gw.kill('SIGKILL');
    }

    // Kill at arbitrary moments while production goes on, including while down.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    for (let round = 0; round < 4; round++) {
      gw = startGateway(cfg.gatewayFile);
      await gw.waitForLog((l) => l.event === 'gateway.started');
      const steps = 3 + rnd(8);
      for (let i = 0; i < steps; i++) {
        await produce(1 + rnd(5), rnd(3) === 0 ? 1 : 0);
        await new Promise((r) => setTimeout(r, 20 + rnd(200)));
      }
      await gw.kill('SIGKILL');
      await produce(1 + rnd(5));
    }

    gw = startGateway(cfg.gatewayFile);
    const final = await eventually(
      () => mes!.state.M1,
      (s) => s.count === count && s.waste.W1 === waste,
      30_000,
      `MES count ${count} and waste ${waste}`,
    );
    expect(final.count).toBe(count);
    expect(final.waste.W1).toBe(waste);

    // Every accepted value was larger than the one before: nothing was doubled.
    const counts = final.counterLog.map((c) => c.count).filter((c): c is number => c !== undefined);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
    // The re-sent totals were refused by the MES and settled, not dead-lettered.
    expect(mes.requests.some((r) => r.status === 400)).toBe(true);
    const res = await fetch(`${await statusUrl(gw)}/api/status`);
    const status = (await res.json()) as { deadLetters: unknown[]; outbox: { pending: number } };
    expect(status.deadLetters).toEqual([]);
  });
});
