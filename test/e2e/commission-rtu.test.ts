/**
 * Commissioning a Modbus RTU line in the browser: the unit scan over a socat pty pair finds
 * the pymodbus units 1 and 2 and not a dead 3, and a found unit is taken for the register scan.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { launchChromium, openCommissioning, openCommissionPage } from '../helpers/commission-browser.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startPtyPair } from '../helpers/modbus-socat.js';
import { tempDir } from '../helpers/tmp.js';

describe('commissioning a Modbus RTU line in the browser', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('scans unit ids 1-3 and lists exactly the units that answer', { timeout: 120_000 }, async () => {
    const pty = await startPtyPair(dir);
    defer(() => pty.kill());
    const slave = await startPymodbus({ serial: pty.b, units: [1, 2] });
    defer(() => slave.kill());
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: {} });
    defer(() => mes.close());
    // The gateway wants one device file to start; this one's PLC is off.
    const idle = `device: idle\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${await freePort()} }\nmachines:\n  - code: IDLE01\n    count: { area: holding, address: 0 }\n`;
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { idle } });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    await gw.waitForLog((l) => l.event === 'web.listening');
    const token = await openCommissioning(cfg.gatewayFile);
    const browser: Browser = await launchChromium();
    defer(() => browser.close());
    const { page, errors } = await openCommissionPage(browser, gw, token);
    defer(() => page.screenshot({ path: 'test-results/commission-rtu-last.png', fullPage: true })); // what the page showed at the end, pass or fail

    await page.locator('[data-step="device"] select[name="protocol"]').selectOption('modbus-rtu');
    await page.locator('[data-step="device"] [name="device"]').fill('line-rtu');
    await page.locator('[data-step="device"] [name="path"]').fill(pty.a);
    await page.locator('[data-step="units"] [name="to"]').fill('3');
    await page.locator('[data-action="scan-units"]').click();
    await page.locator('[data-step="units"] [data-field="job"][data-state="done"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-field="units"] [data-unit]').evaluateAll((li) => li.map((x) => x.getAttribute('data-unit')))).toEqual(['1', '2']);
    expect(await page.locator('[data-step="units"] .action-message').textContent()).toBe('Units that answer: 1, 2');

    await page.locator('[data-unit="2"] [data-action="use-unit"]').click();
    expect(await page.locator('[data-field="scan-unit"]').inputValue()).toBe('2');
    expect(errors).toEqual([]);
  });
});
