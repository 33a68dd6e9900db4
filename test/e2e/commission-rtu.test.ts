/**
 * Commissioning a Modbus RTU line in the browser: the unit scan over a socat pty pair finds
 * the pymodbus units 1 and 2 and not a dead 3, and a found unit is taken for the register scan.
 */
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionInBrowser, startCommissionRig } from '../helpers/commission-browser.js';
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
    const rig = await startCommissionRig(dir, defer);
    const { page, errors } = await commissionInBrowser(rig, defer, 'commission-rtu');

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
