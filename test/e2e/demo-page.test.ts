/**
 * The status page of the real gateway process, in Debian's chromium: the demo's press
 * line (simulated PLC) delivering to the MES sandbox, one waste code unknown to the MES.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { chromium, type Browser } from 'playwright-core';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';

const demoDevice = fileURLToPath(new URL('../../devices/press-line.yaml', import.meta.url));

describe('status page of the running gateway', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('shows each machine, a count changing without reload, and a dead letter', async () => {
    const port = await freePort();
    const yaml = readFileSync(demoDevice, 'utf8').replace('port: 15020', `port: ${port}`);
    const device = deviceSchema.parse(parse(yaml)) as DeviceOf<'modbus-tcp'>;
    const sim = await startModbusPlcSim({ port, device, tickMs: 0 });
    defer(() => sim.close());
    sim.set('PRESS01', 'count', 1000);
    sim.set('PRESS02', 'count', 2000);
    sim.set('PRESS02', 'waste:Waste1', 0); // a known start: the later 3 must be a change
    sim.set('PRESS01', 'running', true);
    sim.set('PRESS02', 'running', true);
    const mes = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
      machines: {
        PRESS01: { waste: ['Waste1', 'Waste2'], downtimeTypes: ['Maintenance', 'Setup', 'Unplanned'] },
        PRESS02: { waste: [], downtimeTypes: ['Unplanned'] }, // Waste1 is not set up for PRESS02 in the MES
      },
    });
    defer(() => mes.close());
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { 'press-line': yaml } });
    const gw: GatewayProcess = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    const url = String((await gw.waitForLog((l) => l.event === 'web.listening')).url);
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'PRESS02');

    const browser: Browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    defer(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    for (const code of ['PRESS01', 'PRESS02']) await page.locator(`[data-machine="${code}"]`).waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const count = page.locator('[data-machine="PRESS01"] [data-signal="count"] [data-field="value"]');
    await expect.poll(() => count.textContent(), { timeout: 20_000 }).toMatch(/1[,.\s]?000/);
    sim.set('PRESS01', 'count', 1234);
    await expect.poll(() => count.textContent(), { timeout: 20_000 }).toMatch(/1[,.\s]?234/);
    await expect.poll(() => mes.state.PRESS01.count, { timeout: 20_000 }).toBe(1234);

    sim.set('PRESS02', 'waste:Waste1', 3);
    sim.set('PRESS02', 'count', 2010);
    const dead = page.locator('tr[data-dead-letter-id]');
    await dead.first().waitFor({ timeout: 20_000 });
    expect(await dead.first().textContent()).toMatch(/PRESS02[\s\S]*Waste1/);
    await expect.poll(() => mes.state.PRESS02.count, { timeout: 20_000 }).toBe(2010);

    // A stop shows on the card and in the timeline.
    sim.set('PRESS01', 'stopReason', 1);
    sim.set('PRESS01', 'running', false);
    await expect
      .poll(() => page.locator('[data-machine="PRESS01"] [data-field="run-state"]').textContent(), { timeout: 20_000 })
      .toMatch(/Stopped: Maintenance/);

    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(errors).toEqual([]);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/demo-status-page.png', fullPage: true });
  });
});
