/**
 * Commissioning an OPC UA device in the browser: the node-opcua test server's tree browsed
 * level by level down to its counter, the node mapped as the count with one click, saved,
 * and the new device delivering it.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../src/sim/free-port.js';
import { startOpcuaSim } from '../../src/sim/opcua-server.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionInBrowser, startCommissionRig } from '../helpers/commission-browser.js';
import { tempDir } from '../helpers/tmp.js';

describe('commissioning an OPC UA device in the browser', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('browses the server to its counter, maps it as the count, saves, and its next parts reach the MES', { timeout: 180_000 }, async () => {
    const sim = await startOpcuaSim({ port: await freePort(), pkiDir: `${dir}/server-pki` });
    defer(() => sim.close());
    sim.set('Line1.Counter', 4321);
    const rig = await startCommissionRig(dir, defer, { machines: { LINE9: { waste: [], downtimeTypes: ['Unplanned'] } } });
    const { mes, gw } = rig;
    const { page, errors } = await commissionInBrowser(rig, defer, 'commission-opcua');

    await page.locator('[data-step="device"] select[name="protocol"]').selectOption('opcua');
    await page.locator('[data-step="device"] [name="device"]').fill('line9-opcua');
    await page.locator('[data-step="device"] [name="endpointUrl"]').fill(sim.endpointUrl);
    await page.locator('[data-step="device"] select[name="trustOnFirstUse"]').selectOption('true');
    expect(await page.locator('[data-step="registers"]').isVisible()).toBe(false);

    // One level at a time: Objects → Line1 → Line1.Counter.
    await page.locator('[data-step="opcua"] [data-action="browse"]').click();
    const line1 = page.locator('[data-field="opcua-tree"] > li[data-browse-name="1:Line1"]');
    await line1.waitFor();
    expect(await page.locator('[data-field="opcua-tree"] [data-node-id="ns=1;s=Line1.Counter"]').count()).toBe(0); // not browsed yet
    await line1.locator('[data-action="expand"]').click();
    const counter = line1.locator('li[data-node-id="ns=1;s=Line1.Counter"]');
    await counter.waitFor();
    expect(await counter.getAttribute('data-node-class')).toBe('Variable');
    await counter.locator('[data-action="select"]').click();
    await page.locator('[data-field="opcua-detail"] [data-fact="NodeId"]:text-is("ns=1;s=Line1.Counter")').waitFor();
    expect(await page.locator('[data-field="opcua-detail"] [data-fact="DataType"]').textContent()).toBe('UInt32');

    await page.locator('[data-step="map"] [name="machine"]').fill('LINE9');
    await page.locator('[data-map="count"]').click();
    await page.locator('[data-endpoint="counter"]').waitFor();
    expect(parse(await page.locator('[data-field="yaml"]').inputValue()).machines).toEqual([{ code: 'LINE9', count: { nodeId: 'ns=1;s=Line1.Counter' } }]);

    await page.locator('[data-action="save"]').click();
    await page.locator('[data-field="save-message"]:has-text("Saved line9-opcua.yaml")').waitFor();
    // The first value is the baseline (initialCount: raw); ten parts later the MES has them.
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'LINE9', 30_000);
    sim.set('Line1.Counter', 4331);
    await expect.poll(() => mes.state.LINE9.count, { timeout: 30_000 }).toBe(4331);
    // The sign-off probe asks for the saved device before hot reload started it: that 404 is expected.
    expect(errors.filter((e) => e !== '404 GET /api/commission/probe')).toEqual([]);
  });
});
