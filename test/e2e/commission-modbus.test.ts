/**
 * Commissioning a Modbus TCP device in the browser, end to end: a real gateway with its window
 * opened by the `commission` verb, a pymodbus unit with holes in its register map, the MES
 * sandbox. The technician scans, decodes, maps a count and running, saves, sees the new device
 * deliver, signs off, saves again, rolls back, and is refused a save over a file edited by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionInBrowser, startCommissionRig } from '../helpers/commission-browser.js';
import { statusUrl } from '../helpers/gateway-process.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { tempDir } from '../helpers/tmp.js';

/** 23.45 as float32 is 0x41BB999A; stored little-endian (DCBA) the two words are 0x9A99, 0xBB41. */
const FLOAT_DCBA = [0x9a99, 0xbb41];
const HOLES = [...Array.from({ length: 10 }, (_, i) => `holding:${10 + i}`), ...Array.from({ length: 5 }, (_, i) => `holding:${30 + i}`)];

/** An existing device, so the gateway runs something besides the one commissioned. */
const EXISTING = (port: number) => `device: line-a
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, unitId: 1 }
machines:
  - code: OLD01
    count: { area: holding, address: 60, type: uint16 }
`;

async function pick(page: Page, step: string, name: string, value: string) {
  await page.locator(`[data-step="${step}"] [name="${name}"]`).fill(value);
}

describe('commissioning a Modbus device in the browser', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('scans the answering ranges, finds a little-endian float from its HMI value, maps count and running, saves, delivers, rolls back', {
    timeout: 180_000,
  }, async () => {
    const plc = await startPymodbus({ holes: HOLES, initial: { 'holding:0': [0, 1000], 'holding:20': FLOAT_DCBA, 'holding:60': [5], 'coil:0': [1] } });
    defer(() => plc.kill());
    const rig = await startCommissionRig(dir, defer, {
      machines: { NEW01: { waste: [], downtimeTypes: ['Unplanned'] }, OLD01: { waste: [], downtimeTypes: ['Unplanned'] } },
      devices: { 'line-a': EXISTING(plc.port) },
    });
    const { mes, cfg, gw } = rig;
    const { page, errors } = await commissionInBrowser(rig, defer, 'commission-modbus');
    expect(await page.locator('[data-field="commission-left"]').textContent()).toMatch(/^(29|30) min left$/);
    expect(new URL(page.url()).hash).toBe(''); // the one-time token left the address bar

    // 1. A new Modbus TCP device, and its connection check.
    await pick(page, 'device', 'device', 'press-9');
    await pick(page, 'device', 'host', '127.0.0.1');
    await pick(page, 'device', 'port', String(plc.port));
    await page.locator('[data-action="check"]').click();
    await page.locator('[data-check-step="modbus.first-read"][data-ok="true"]').waitFor();

    // 2. Register scan of holding 0–49: exactly the ranges that answer.
    await pick(page, 'registers', 'from', '0');
    await pick(page, 'registers', 'to', '49');
    await page.locator('[data-action="scan-registers"]').click();
    await page.locator('[data-step="registers"] [data-field="job"][data-state="done"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-field="answering-ranges"]').textContent()).toBe('0–9, 20–29, 35–49');
    expect(await page.locator('[data-field="exception-ranges"]').textContent()).toBe('10–19, 30–34');

    // 3. Decode holding 20 as a pair; typing the HMI's 23.45 lights up float32 DCBA alone.
    await page.locator('[data-field="scan-rows"] tr[data-address="20"] [data-action="decode"]').click();
    await page.locator('[data-field="decode-rows"] tr[data-decoding="float32/DCBA"]').waitFor();
    expect(await page.locator('[data-field="decode-where"]').textContent()).toContain('holding 20 (40021)');
    await page.locator('[data-field="hmi"]').fill('23.45');
    await page.locator('tr[data-decoding="float32/DCBA"][data-match="true"]').waitFor();
    expect(
      await page.locator('[data-field="decode-rows"] tr[data-match="true"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-decoding'))),
    ).toEqual(['float32/DCBA']);

    // 4. Map holding 0 (uint32) as the count and coil 0 as running.
    await pick(page, 'map', 'machine', 'NEW01');
    await page.locator('[data-field="hmi"]').fill('');
    await page.locator('[data-field="scan-rows"] tr[data-address="0"] [data-action="decode"]').click();
    await page.locator('tr[data-decoding="uint32/ABCD"] [data-field="decoded"]:text-is("1,000")').waitFor();
    await page.locator('tr[data-decoding="uint32/ABCD"] [data-action="use"]').click();
    await page.locator('[data-map="count"]').click();
    await page.locator('[data-step="decode"] select[name="area"]').selectOption('coil');
    await page.locator('[data-step="decode"] select[name="count"]').selectOption('1');
    await page.locator('[data-step="decode"] [data-action="read"]').click();
    await page.locator('[data-bit="0"] [data-action="use-bit"]').click();
    await page.locator('[data-map="running"]').click();

    // 5. What the MES would receive, not sent; the device file it makes.
    await page.locator('[data-endpoint="counter"]').waitFor();
    expect(JSON.parse((await page.locator('[data-endpoint="counter"] pre').textContent()) ?? '')).toHaveProperty('count');
    expect(await page.locator('[data-field="problems"] li').count()).toBe(0);
    expect(mes.state.NEW01.count).toBeUndefined();
    const written = parse(await page.locator('[data-field="yaml"]').inputValue());
    expect(written.machines[0]).toEqual({
      code: 'NEW01',
      count: { area: 'holding', address: 0, type: 'uint32' },
      running: { area: 'coil', address: 0 },
      downtimeType: 'Unplanned',
    });

    // 6. Save: hot reload starts the device, and it delivers to the MES.
    await page.locator('[data-action="save"]').click();
    await page.locator('[data-field="save-message"]:has-text("Saved press-9.yaml")').waitFor();
    await gw.waitForLog((l) => l.event === 'commission.saved' && l.file === 'press-9.yaml');
    // The first read is the baseline (initialCount: raw); what the machine makes from then on is delivered.
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'NEW01', 30_000);
    await plc.set('holding', 0, 0, 1010);
    await expect.poll(() => mes.state.NEW01.count, { timeout: 30_000 }).toBe(1010);
    await plc.set('coil', 0, 0);
    await expect.poll(() => mes.state.NEW01.startstop.at(-1), { timeout: 30_000 }).toMatchObject({ running: 0, type: 'Unplanned' });
    const first = readFileSync(join(cfg.dir, 'devices', 'press-9.yaml'), 'utf8');

    // Sign-off on the live probe: running within the limit, and ten parts counted; the report keeps it.
    const signoff = page.locator('[data-step="signoff"]');
    expect(await signoff.locator('[data-field="probe-device"]').inputValue()).toBe('press-9');
    await signoff.locator('[data-probe="NEW01/count"] [data-field="value"]:text-is("1010")').waitFor({ timeout: 30_000 });
    await signoff.locator('[data-check="running"] [data-action="start-check"]').click();
    await signoff.locator('[data-check="count10"] [data-action="start-check"]').click();
    await plc.set('coil', 0, 1);
    await plc.set('holding', 0, 0, 1020);
    await signoff.locator('[data-check="running"][data-result="passed"]').waitFor({ timeout: 30_000 });
    await signoff.locator('[data-check="count10"][data-result="passed"]').waitFor({ timeout: 30_000 });
    expect(await signoff.locator('[data-check="count10"] [data-field="detail"]').textContent()).toBe('+10');
    await signoff.locator('[name="who"]').fill('J. Kowalski');
    await signoff.locator('[data-action="save-report"]').click();
    await signoff.locator('.action-message:text-is("Report saved.")').waitFor();
    const report = await page.request.get(`${await statusUrl(gw)}/api/commission/report?device=press-9`);
    expect(await report.text()).toMatch(/J\. Kowalski[\s\S]*NEW01: Make 10 parts/);

    // 7. A second save (a parameter added) keeps a backup of the first; roll back to it.
    await page.locator('[data-step="decode"] select[name="area"]').selectOption('holding');
    await pick(page, 'decode', 'address', '60');
    await page.locator('[data-step="decode"] [data-action="read"]').click();
    await page.locator('tr[data-decoding="uint16/AB"] [data-action="use"]').click();
    await pick(page, 'map', 'parameterCode', 'speed');
    await page.locator('[data-map="parameter"]').click();
    await page.locator('[data-endpoint="parameters"]').waitFor();
    await page.locator('[data-action="save"]').click();
    await expect.poll(() => readFileSync(join(cfg.dir, 'devices', 'press-9.yaml'), 'utf8')).toContain('code: speed');
    const backup = page.locator('[data-field="backups"] [data-backup]');
    await backup.first().waitFor();
    expect(await backup.count()).toBe(1);
    page.once('dialog', (d) => d.accept());
    await backup.first().locator('[data-action="rollback"]').click();
    await expect.poll(() => readFileSync(join(cfg.dir, 'devices', 'press-9.yaml'), 'utf8')).toBe(first);
    await gw.waitForLog((l) => l.event === 'commission.rolled_back' && l.file === 'press-9.yaml');

    // Someone edits the file by hand meanwhile: Save refuses (409) and says why; the edit stays.
    await expect.poll(() => backup.count()).toBe(2); // the rollback kept the file it replaced
    const byHand = `${first}# edited by hand\n`;
    writeFileSync(join(cfg.dir, 'devices', 'press-9.yaml'), byHand);
    await page.locator('[data-action="save"]').click();
    await page.locator('[data-field="save-message"]:has-text("someone else changed the file")').waitFor();
    expect(readFileSync(join(cfg.dir, 'devices', 'press-9.yaml'), 'utf8')).toBe(byHand);
    await expect.poll(() => page.locator('[data-field="yaml"]').inputValue()).toBe(byHand); // the new version, to map again

    // The view in each language, for a person to look at; nothing left untranslated.
    for (const lang of ['en', 'pl', 'zh']) {
      await page.locator('select[data-i18n-switcher]').selectOption(lang);
      await page.waitForFunction((l) => document.documentElement.lang.startsWith(l), lang);
      expect(await page.evaluate(() => document.documentElement.getAttribute('data-i18n-missing'))).toBeNull();
      // The banner's time left is written in the new language at once, not at its next tick.
      expect(await page.locator('[data-field="commission-left"]').textContent()).toMatch({ en: /min left$/, pl: /^pozostało /, zh: /^剩余 / }[lang]!);
      // Dates too follow the switch: a backup's time is written anew in the language's own way.
      const backupTimes = await page.locator('[data-field="backups"] [data-backup]').evaluateAll((li) => li.map((x) => x.firstChild?.textContent));
      expect(backupTimes.length).toBeGreaterThan(0);
      for (const shown of backupTimes)
        expect(shown, lang).toMatch(
          { en: /\d{4}, \d{1,2}:\d{2}:\d{2}\s?[AP]M$/, pl: /^\d{1,2} \S+ \d{4}, \d{2}:\d{2}:\d{2}$/, zh: /^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}$/ }[
            lang
          ]!,
        );
      // Tall enough for the whole view: the sticky banner then stays at its top.
      const height = await page.locator('[data-field="commission"]').evaluate((el) => Math.ceil(el.getBoundingClientRect().bottom + window.scrollY));
      await page.setViewportSize({ width: 1280, height });
      await page.locator('[data-field="commission"]').screenshot({ path: `docs/screenshots/commission-${lang}.png` });
    }

    // Expected refusals: the sign-off probe asking for the saved device before hot reload started it, and the conflict.
    expect(errors.filter((e) => e !== '404 GET /api/commission/probe' && e !== '409 POST /api/commission/save')).toEqual([]);
  });
});
