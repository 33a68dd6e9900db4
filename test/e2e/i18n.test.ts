/**
 * The status page and the login form in English, Polish and Chinese, in Debian's chromium: the
 * language from the browser, the switcher and its memory, no raw key and no English left where
 * a translation exists, Polish plural forms and decimal comma.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import type { GatewayStatus } from '../../src/core/status.js';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/tmp.js';
import { startFixtureServer } from '../helpers/web-server.js';
import { fixtureStatus } from '../helpers/web-fixture.js';

type Value = string | Record<string, string>;
const langDir = new URL('../../src/web/page/lang/', import.meta.url);
/** lang → every key of every area. */
const dictionaries: Record<string, Record<string, Value>> = {};
for (const name of readdirSync(langDir)) {
  const [lang] = name.split('.');
  dictionaries[lang] = { ...dictionaries[lang], ...JSON.parse(readFileSync(new URL(name, langDir), 'utf8')) };
}
const forms = (v: Value) => (typeof v === 'string' ? [v] : Object.values(v));
const escapeRegExp = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

/**
 * Patterns of the English texts that `lang` says differently: a text shown in `lang` that one
 * of them matches whole is English left untranslated. Texts without two letters of their own
 * ("{count} s", "{a} {b}") cannot tell and are left out.
 */
function englishLeftovers(lang: string): { key: string; pattern: RegExp }[] {
  const out: { key: string; pattern: RegExp }[] = [];
  for (const [key, value] of Object.entries(dictionaries.en)) {
    const translated = new Set(forms(dictionaries[lang][key] ?? ''));
    for (const form of forms(value)) {
      if (translated.has(form) || !/[A-Za-z]{2}/.test(form.replace(/\{\w+\}/g, ''))) continue;
      // A count is a number: so "{count} machines" does not match a device's English error that ends in "machines".
      const pattern = escapeRegExp(form)
        .replace(/\{count\}/g, '[\\d\\s.,]+')
        .replace(/\{\w+\}/g, '.+?');
      out.push({ key, pattern: new RegExp(`^${pattern}$`, 's') });
    }
  }
  return out;
}

let browser: Browser;
const dir = tempDir();
const defer = deferCleanup();
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(() => browser?.close());

/** The fixture with a warning of each kind: a rejected config change, a full disk, a 429 pause cut to the cap, a shared budget cut down to its trickle. */
function busyStatus(): GatewayStatus {
  const s = fixtureStatus();
  s.budget.shared = {
    key: 'acme',
    redis: 'redis://10.0.0.5:6379',
    state: 'fallback',
    reason: 'SFG_BUDGET_UNREACHABLE',
    since: s.now - 20 * 60_000,
    companyPerMinute: 115,
    fallbackPerMinute: 30,
    fallbackStep: 'trickle',
    answeredAt: s.now - 20 * 60_000,
    sharePerMinute: 1,
  };
  s.config.errors = ['devices/press.yaml:7:5 machines[0].count.area: expected holding, input, coil or discrete'];
  s.storage = { path: '/var/lib/shopfloor-gateway/gateway.db', state: 'full', since: s.now, lastError: 'database or disk is full', failures: 12 };
  s.mes.pausedUntil = s.now + 10 * 60_000;
  s.mes.rateLimit = { since: s.now - 5 * 60_000, until: s.now + 10 * 60_000, askedMs: 99_999_000, capMs: 15 * 60_000 };
  return s;
}

/** The fixture's status page, in a browser whose languages are `locale`. */
async function open(locale: string, opts: Parameters<typeof startFixtureServer>[0] = {}) {
  const server = await startFixtureServer({ status: busyStatus(), ...opts });
  defer(() => server.web.close());
  const { page, errors, warnings } = await browserPage(locale);
  return { ...server, page, errors, warnings };
}

/** A page in a browser whose languages are `locale`; console warnings and script errors are recorded. */
async function browserPage(locale: string) {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  defer(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  const warnings: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    if (m.type() === 'warning') warnings.push(m.text());
  });
  return { page, errors, warnings };
}

async function ready(page: Page, url: string) {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Every text a person sees: visible text nodes, tooltips, labels and the title. */
function shownTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement!;
      const tooltip = el.closest('title');
      if (tooltip || (el.checkVisibility() && !el.closest('[hidden]'))) out.push(n.textContent!);
    }
    for (const el of document.querySelectorAll('[title], [aria-label], [data-label]')) {
      for (const attr of ['title', 'aria-label', 'data-label']) out.push(el.getAttribute(attr) ?? '');
    }
    return out.map((t) => t.trim()).filter(Boolean);
  });
}

/** No raw key, no English where `lang` has its own words, no key marked missing. */
async function expectTranslated(page: Page, lang: string) {
  const texts = await shownTexts(page);
  const keys = new Set(Object.keys(dictionaries.en));
  expect(texts.filter((t) => keys.has(t) || /^(common|status|login|commission)\.[\w.]+$/.test(t))).toEqual([]);
  if (lang !== 'en') {
    const leftovers = englishLeftovers(lang);
    expect(texts.flatMap((t) => leftovers.filter((l) => l.pattern.test(t)).map((l) => `${l.key}: ${t}`))).toEqual([]);
  }
  expect(await page.locator('[data-i18n-missing]').count()).toBe(0);
  return texts;
}

const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

describe('page languages', () => {
  it.each([
    ['en-US', 'en', 'en', 'Machines', 'Stopped: Maintenance', '2 machines'],
    ['pl-PL', 'pl', 'pl', 'Maszyny', 'Przestój: Maintenance', '2 maszyny'],
    ['zh-CN', 'zh', 'zh-CN', '机器', '已停止：Maintenance', '2 台机器'],
  ])('a browser in %s gets the status page in %s, all of it', async (locale, lang, htmlLang, machines, stopped, count) => {
    const { page, web, errors } = await open(locale);
    await ready(page, web.url);
    expect(await page.getAttribute('html', 'lang')).toBe(htmlLang);
    expect(await text(page, '[data-i18n="status.machines.title"]')).toBe(machines);
    expect(await text(page, '[data-machine="PRESS02"] [data-field="run-state"]')).toBe(stopped);
    expect(await text(page, '[data-field="machines-count"]')).toBe(count);
    expect(await page.locator('[data-field="config-errors"]').isVisible()).toBe(true);
    expect(await page.locator('[data-dead-letter-id="7"]').isVisible()).toBe(true);
    const texts = await expectTranslated(page, lang);
    // Codes and what the MES or a device said stay as they are.
    expect(texts).toEqual(expect.arrayContaining(['PRESS01', 'modbus-tcp', 'Waste code "Scrap" does not exist for machine PRESS02']));
    expect(await page.locator('select[data-i18n-switcher]').inputValue()).toBe(lang);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: `test-results/status-${lang}.png`, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('writes Polish numbers with a decimal comma and spaces between thousands, and Polish plural forms', async () => {
    const { page, web, provider, errors } = await open('pl-PL');
    await ready(page, web.url);
    const temperature = '[data-machine="PRESS01"] [data-signal="param:temperature"] [data-field="value"]';
    expect(await text(page, temperature)).toBe('182,4');
    expect(await text(page, '[data-machine="PRESS01"] [data-total="count"] [data-field="total"]')).toBe('12\u00a0840');
    expect(await text(page, '[data-field="storage-problem-text"]')).toMatch(/\(12 nieudanych zapisów\)$/);
    expect(await text(page, '[data-field="mes-detail"]')).toMatch(
      /^wysyłanie wstrzymane na (9|10) min przez MES \(429\) \(MES prosił o 27 godz\. 46 min, skrócono do 15 min\)$/,
    );

    // Light cards (no history to plot): the count is what is looked at.
    const template = { ...provider.status().machines[0], timeline: [], production: [] };
    for (const [n, shown] of [
      [1, '1 maszyna'],
      [5, '5 maszyn'],
      [22, '22 maszyny'],
      [12, '12 maszyn'],
    ] as const) {
      provider.update((s) => {
        s.machines = Array.from({ length: n }, (_, i) => ({ ...structuredClone(template), code: `M${i + 1}` }));
      });
      await expect.poll(() => text(page, '[data-field="machines-count"]'), { timeout: 10_000 }).toBe(shown);
    }
    expect(errors).toEqual([]);
  });

  it('falls back to English for a browser in a language it does not have', async () => {
    const { page, web } = await open('de-DE');
    await ready(page, web.url);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await text(page, '[data-i18n="status.machines.title"]')).toBe('Machines');
  });

  it('switches language in place from the menu, and remembers it across a reload', async () => {
    const { page, web } = await open('en-US');
    await ready(page, web.url);
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    await page.selectOption('select[data-i18n-switcher]', 'pl');
    await page.waitForSelector('[data-machine="PRESS01"] [data-field="run-state"]:text-is("Pracuje")');
    expect(await text(page, '[data-field="live"]')).toMatch(/^(na żywo|odpytywanie)$/);
    expect(await page.evaluate(() => 'sameDocument' in window)).toBe(true);
    await expectTranslated(page, 'pl');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.getAttribute('html', 'lang')).toBe('pl');
    expect(await text(page, '[data-i18n="status.machines.title"]')).toBe('Maszyny');
    expect(await page.locator('select[data-i18n-switcher]').inputValue()).toBe('pl');
  });

  it('shows a key missing from a translation in English, marked and said on the console', async () => {
    const { page, web, warnings } = await open('pl-PL');
    const url = new URL('/lang/pl.status.json', web.url).href;
    // An incomplete translation, as a new language might be: the file without one key.
    await page.route(url, async (route) => {
      const body = await (await route.fetch()).json();
      delete body['status.deadLetters.title'];
      await route.fulfill({ json: body });
    });
    await ready(page, web.url);
    const heading = page.locator('[data-i18n="status.deadLetters.title"]');
    expect(await heading.textContent()).toBe('Dead letters');
    expect(await heading.getAttribute('data-i18n-missing')).toBe('status.deadLetters.title');
    expect(await page.getAttribute('html', 'data-i18n-missing')).toBe('status.deadLetters.title');
    expect(warnings).toEqual([expect.stringContaining('"status.deadLetters.title" is missing in pl')]);
    expect(await text(page, '[data-i18n="status.machines.title"]')).toBe('Maszyny');
  });

  it("the running gateway's page in Polish: a stopped machine, a dead letter, a rejected config change", async () => {
    const port = await freePort();
    const yaml = readFileSync(fileURLToPath(new URL('../../devices/press-line.yaml', import.meta.url)), 'utf8').replace('port: 15020', `port: ${port}`);
    const sim = await startModbusPlcSim({ port, device: deviceSchema.parse(parse(yaml)) as DeviceOf<'modbus-tcp'>, tickMs: 0 });
    defer(() => sim.close());
    sim.set('PRESS01', 'count', 1000);
    sim.set('PRESS02', 'count', 2000);
    sim.set('PRESS02', 'waste:Waste1', 0);
    sim.set('PRESS01', 'running', true);
    sim.set('PRESS02', 'running', true);
    const mes = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
      machines: {
        PRESS01: { waste: ['Waste1', 'Waste2'], downtimeTypes: ['Maintenance', 'Setup', 'Unplanned'] },
        PRESS02: { waste: [], downtimeTypes: ['Unplanned'] }, // Waste1 unknown here: a dead letter
      },
    });
    defer(() => mes.close());
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { 'press-line': yaml } });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    const url = String((await gw.waitForLog((l) => l.event === 'web.listening')).url);
    await gw.waitForLog((l) => l.event === 'counter.first_seen' && l.machine === 'PRESS02');
    sim.set('PRESS02', 'waste:Waste1', 3);
    sim.set('PRESS02', 'count', 2010);
    sim.set('PRESS01', 'stopReason', 1);
    sim.set('PRESS01', 'running', false);
    writeFileSync(join(cfg.dir, 'devices', 'broken.yaml'), 'id: broken\nprotocol: modbus-tcp\n');
    await gw.waitForLog((l) => l.event === 'config.rejected');

    const { page, errors } = await browserPage('pl-PL');
    await ready(page, url);
    await page.locator('tr[data-dead-letter-id]').first().waitFor({ timeout: 20_000 });
    await page.waitForSelector('[data-machine="PRESS01"] [data-field="run-state"]:text-is("Przestój: Maintenance")', { timeout: 20_000 });
    await page.locator('[data-field="config-errors"]').waitFor({ state: 'visible' });
    expect(await text(page, '[data-field="machines-count"]')).toBe('2 maszyny');
    await expectTranslated(page, 'pl');
    expect(errors).toEqual([]);
  });

  it('stays readable in English when a language cannot be loaded', async () => {
    const { page, web, warnings } = await open('pl-PL');
    await page.route(new URL('/lang/pl.status.json', web.url).href, (route) => route.fulfill({ status: 500, body: 'broken' }));
    await ready(page, web.url);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await text(page, '[data-machine="PRESS02"] [data-field="run-state"]')).toBe('Stopped: Maintenance');
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('pl could not be loaded')]));
  });

  it.each([
    ['en-US', 'en', 'Access token (web.token in gateway.yaml)', 'That token is not right.'],
    ['pl-PL', 'pl', 'Token dostępu (web.token w gateway.yaml)', 'Ten token jest nieprawidłowy.'],
    ['zh-CN', 'zh', '访问令牌（gateway.yaml 中的 web.token）', '令牌不正确。'],
  ])('the login form in %s, and its error, in %s', async (locale, lang, label, wrong) => {
    const { page, web, errors } = await open(locale, { token: 'browser-test-token-0123456789' });
    await page.goto(web.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.waitForSelector(`label:text-is("${label}")`);
    await expectTranslated(page, lang);
    expect(errors).toEqual([]);
    // The wrong token's answer is a 401 page, which the console notes; it is the form again, translated.
    await page.fill('input[name="token"]', 'not-the-token-at-all');
    await page.click('button[type="submit"]');
    await page.waitForSelector(`p.error:text-is("${wrong}")`);
    await expectTranslated(page, lang);
    expect(await page.getAttribute('html', 'lang')).toBe(lang === 'zh' ? 'zh-CN' : lang);
    await page.screenshot({ path: `test-results/login-${lang}.png` });
  });
});
