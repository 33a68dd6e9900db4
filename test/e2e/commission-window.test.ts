/**
 * The commissioning window as the page shows it: absent unless opened on the box, the time
 * left in the banner, the one-time link refused a second time, and the view gone when the
 * window is closed on the box. The page runs on Playwright's fake clock (its 30 s check of
 * the window is fast-forwarded); the gateway and the CLI are real.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { openCommissioning, openCommissionPage, runCommission, startCommissionRig } from '../helpers/commission-browser.js';
import { tempDir } from '../helpers/tmp.js';

const left = (page: Page) => page.locator('[data-field="commission-left"]').textContent();

describe('the commissioning window in the page', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('shows nothing without a window, the time left with one, refuses the link twice, and goes when the window is closed on the box', {
    timeout: 120_000,
  }, async () => {
    const { cfg, gw, browser } = await startCommissionRig(dir, defer);

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
