/**
 * The README's Redis on the plant network: TLS only (no plain-text port), a password, a
 * certificate from the plant's own CA. The real gateway process with `rediss://` and the
 * password as `${REDIS_PASSWORD}`: without `NODE_EXTRA_CA_CERTS` it cannot trust Redis and
 * says why while it delivers on its fallback share; with it, it joins the company budget.
 * The password shows nowhere, neither in the log nor on /api/status.
 */
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { startOneMachine } from '../helpers/one-machine.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway, statusUrl } from '../helpers/gateway-process.js';
import { makeTestPki } from '../helpers/mosquitto-tls.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const PASSWORD = 'Tls-Redis-Secret-0815';

describe('the company budget on Redis over TLS', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('is trusted through NODE_EXTRA_CA_CERTS, says why while it is not, and never shows the password', async () => {
    const pki = makeTestPki(dir);
    const redis = await startRedisServer({ password: PASSWORD, tls: pki });
    defer(redis.cleanup);
    const { yaml, sim, mes } = await startOneMachine(defer);
    let count = 5;
    sim.set('M1', 'count', count);
    const cfg = writeConfig(dir, {
      mesUrl: mes.url,
      devices: { plc: yaml },
      requestsPerMinute: 30,
      sharedBudget: { redis: `rediss://:\${REDIS_PASSWORD}@127.0.0.1:${redis.port}`, key: 'acme', requestsPerMinute: 115 },
    });
    const run = async (env: Record<string, string>) => {
      const gw = startGateway(cfg.gatewayFile, { REDIS_PASSWORD: PASSWORD, ...env });
      defer(() => gw.kill('SIGKILL'));
      const url = await statusUrl(gw);
      // The first read is the baseline: a count goes to the MES once the gateway has it.
      await eventually(
        async () =>
          ((await (await fetch(`${url}/api/status`)).json()) as { machines: { totals: { count?: { total: number } } }[] }).machines[0]?.totals.count?.total,
        (t) => t === count,
        20_000,
        `count ${count} read`,
      );
      sim.set('M1', 'count', ++count);
      await eventually(
        () => mes.state.M1?.count,
        (c) => c === count,
        20_000,
        `count ${count} delivered`,
      );
      return { gw, url };
    };
    const budgetOf = async (url: string) =>
      ((await (await fetch(`${url}/api/status`)).json()) as { budget: { shared: Record<string, unknown> } }).budget.shared;

    // The system's CAs do not know the plant's: the count still goes, on the fallback share.
    const untrusted = await run({});
    const fallback = await untrusted.gw.waitForLog((l) => l.event === 'budget.fallback');
    expect(fallback).toMatchObject({ code: 'SFG_BUDGET_TLS', err: expect.stringContaining('NODE_EXTRA_CA_CERTS') });
    expect(await budgetOf(untrusted.url)).toMatchObject({ state: 'fallback', reason: 'SFG_BUDGET_TLS' });
    const untrustedStatus = JSON.stringify(await budgetOf(untrusted.url));
    await untrusted.gw.kill('SIGTERM');

    // The README's remedy: the CA in the unit's environment.
    const trusted = await run({ NODE_EXTRA_CA_CERTS: pki.cafile });
    await trusted.gw.waitForLog((l) => l.event === 'budget.shared_joined');
    const shared = await eventually(
      () => budgetOf(trusted.url),
      (b) => b.state === 'shared',
      10_000,
      'on the shared budget',
    );
    expect(shared).toMatchObject({ redis: `rediss://127.0.0.1:${redis.port}`, companyLimit: 115 });
    await trusted.gw.kill('SIGTERM');

    const shown = [JSON.stringify(untrusted.gw.logs), JSON.stringify(trusted.gw.logs), untrustedStatus, JSON.stringify(shared)].join('\n');
    expect(shown).not.toContain(PASSWORD);
    expect(mes.state.M1?.count).toBe(count);
  });
});
