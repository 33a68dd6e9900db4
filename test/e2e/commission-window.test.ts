/**
 * The commissioning window as the page shows it: absent unless opened on the box, the time
 * left in the banner, the one-time link refused a second time, and the view gone when the
 * window is closed on the box. The page runs on Playwright's fake clock (its 30 s check of
 * the window is fast-forwarded); the gateway and the CLI are real.
 */
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { launchChromium, openCommissioning, openCommissionPage, runCommission } from '../helpers/commission-browser.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/tmp.js';

const left = (page: Page) => page.locator('[data-field="commission-left"]').textContent();

describe('the commissioning window in the page', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('shows nothing without a window, the time left with one, refuses the link twice, and goes when the window is closed on the box', {
    timeout: 120_000,
  }, async () => {
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: {} });
    defer(() => mes.close());
    const idle = `device: idle\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${await freePort()} }\nmachines:\n  - code: IDLE01\n    count: { area: holding, address: 0 }\n`;
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { idle } });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    await gw.waitForLog((l) => l.event === 'web.listening');
    const browser: Browser = await launchChromium();
    defer(() => browser.close());

    const before = await openCommissionPage(browser, gw, undefined);
    const answered = before.page.waitForResponse((r) => r.url().endsWith('/api/commission/session'));
    await before.page.reload();
    expect(await (await answered).json()).toEqual({ active: false });
    expect(await before.page.locator('[data-field="commission"]').isVisible()).toBe(false);

    const token = await openCommissioning(cfg.gatewayFile, 30);
    const { page, errors } = await openCommissionPage(browser, gw, token, { before: (p) => p.clock.install() });
    expect(await left(page)).toMatch(/^(29|30) min left$/);

    const again = await openCommissionPage(browser, gw, undefined);
    const origin = new URL(again.page.url()).origin;
    await again.page.goto('about:blank'); // else the same page only changes its fragment and never reloads
    await again.page.goto(`${origin}/#commission=${token}`);
    await again.page.locator('[data-field="commission-ended"]:has-text("already used")').waitFor();
    expect(await again.page.locator('[data-field="commission"]').isVisible()).toBe(false);

    await runCommission(cfg.gatewayFile, '--close');
    await page.clock.fastForward('00:31'); // the page asks the gateway every 30 s
    await page.locator('[data-field="commission-ended"]:has-text("has ended")').waitFor();
    expect(await page.locator('[data-field="commission"]').isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });
});
