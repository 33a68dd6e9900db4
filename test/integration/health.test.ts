/**
 * /healthz of the real gateway pipeline (in process, on a warp clock so that "down for
 * more than a minute" takes moments): 200 while it delivers, 503 with the reason while
 * the MES is down, 200 again once it is back.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { WarpClock } from '../helpers/clocks.js';
import { eventually } from '../helpers/wait.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { startOneMachine } from '../helpers/one-machine.js';
import { healthOf } from '../helpers/web-server.js';

describe('health', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('healthz flips to 503 while the MES is down and back to 200 when it returns', async () => {
    const clock = new WarpClock(Date.now());
    const { yaml, sim, mes } = await startOneMachine(defer);
    let count = 10;
    sim.set('M1', 'count', count);
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { plc: yaml } });
    const gateway = await Gateway.start({ config: loadConfig(cfg.gatewayFile), logger: pino({ level: 'silent' }), clock });
    defer(() => gateway.stop());
    const health = healthOf(gateway.url);

    await eventually(
      () => gateway.view.status().machines[0]?.totals.count?.total,
      (t) => t === 10,
      20_000,
      'first read',
    );
    sim.set('M1', 'count', ++count);
    await eventually(
      () => mes.state.M1.count,
      (c) => c === count,
      20_000,
      'delivered',
    );
    expect((await health()).status).toBe(200);

    mes.setDown(true);
    sim.set('M1', 'count', ++count);
    // Warped time also makes the queued count "stuck" soon; the MES reason must be among the reasons.
    const down = await eventually(health, (h) => h.status === 503 && /MES unreachable/.test(h.body), 20_000, 'unhealthy because of the MES');
    expect(down.body).toMatch(/^unhealthy/);

    mes.setDown(false);
    await eventually(health, (h) => h.status === 200, 20_000, 'healthy again');
    await eventually(
      () => mes.state.M1.count,
      (c) => c === count,
      20_000,
      'delivered after the outage',
    );
  });
});
