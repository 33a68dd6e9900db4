/**
 * The sign-off probe in the browser, on the page's fake clock: a device that is slow to answer
 * (an MQTT probe may wait 5 s) is asked once at a time, not once a second with the answers
 * piling up in the gateway.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeviceFile } from '../../src/config/load.js';
import { systemClock } from '../../src/core/clock.js';
import type { CommissionTools } from '../../src/core/commission.js';
import { previewMesBodies } from '../../src/gateway/commission-preview.js';
import { writeGrant } from '../../src/web/commission/grant.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { launchChromium } from '../helpers/commission-browser.js';
import { tempDir } from '../helpers/tmp.js';
import { startFixtureServer } from '../helpers/web-server.js';

const press = `device: press-1
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: 1502 }
machines:
  - code: PRESS01
    count: { area: holding, address: 0 }
`;

describe('commissioning sign-off in the browser', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('asks a slow device for one probe at a time', { timeout: 60_000 }, async () => {
    writeFileSync(join(dir, 'press.yaml'), press);
    const devices = [loadDeviceFile(join(dir, 'press.yaml'))];
    let probes = 0;
    let answer: (rows: unknown) => void = () => {};
    const tools = {
      probe: () => {
        probes += 1;
        return new Promise((resolve) => {
          answer = resolve;
        });
      },
    } as unknown as CommissionTools;
    const commissionDir = join(dir, 'commission');
    const { web } = await startFixtureServer({
      commission: { dir: commissionDir, running: () => ({ devicesDir: dir, devices }), previewer: previewMesBodies, clock: systemClock, tools },
    });
    defer(() => web.close());
    const browser = await launchChromium();
    defer(() => browser.close());
    const page = await browser.newPage();
    await page.clock.install();
    const { token } = writeGrant(commissionDir, Date.now(), 30);
    await page.goto(new URL(`/#commission=${token}`, web.url).toString());
    await page.locator('[data-field="commission"]').waitFor({ state: 'visible' });

    await page.locator('[data-field="probe-device"]').selectOption('press-1');
    await expect.poll(() => probes).toBe(1);
    await page.clock.runFor(6000); // six refreshes while the device has not answered
    expect(probes).toBe(1);
    answer([{ machine: 'PRESS01', signal: 'count', value: 1234 }]);
    await page.locator('[data-field="probe-rows"] tr').first().waitFor();
    await page.clock.runFor(1000);
    await expect.poll(() => probes).toBe(2);
  });
});
