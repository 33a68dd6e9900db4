/** The status page in a real browser (Debian's chromium through playwright-core) over the fixture provider. */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer } from '../helpers/web-server.js';

let browser: Browser;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(() => browser?.close());
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A tablet-sized page that records script errors; the server behind it is closed after the test. */
async function open(opts: Parameters<typeof startFixtureServer>[0] = {}, viewport = { width: 1024, height: 768 }) {
  const server = await startFixtureServer(opts);
  closers.push(() => server.web.close());
  const context = await browser.newContext({ viewport });
  closers.push(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { ...server, page, errors };
}

async function ready(page: Page, url: string) {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
}

const countCell = '[data-machine="PRESS01"] [data-signal="count"] [data-field="value"]';

describe('status page', () => {
  it('shows a card per machine and device, the header and no script error', async () => {
    const { page, web, errors } = await open();
    await ready(page, web.url);
    for (const code of ['PRESS01', 'PRESS02']) expect(await page.locator(`[data-machine="${code}"]`).isVisible()).toBe(true);
    expect(await page.locator('[data-device="line2-opcua"]').getAttribute('data-state')).toBe('disconnected');
    expect(await page.locator('[data-machine="PRESS02"] [data-field="run-state"]').textContent()).toBe('Stopped: Maintenance');
    expect(await page.locator('[data-field="mes-state"]').textContent()).toBe('Reachable');
    expect(await page.locator('[data-field="budget-used"]').textContent()).toBe('37 / 100');
    expect(await page.locator('[data-machine="PRESS01"] svg rect.seg').count()).toBeGreaterThan(3);
    expect(await page.locator('[data-machine="PRESS01"] svg rect.unsent-hatch').count()).toBe(1);
    expect(await page.locator('[data-machine="PRESS01"] svg rect.rate-bar').count()).toBeGreaterThan(10);
    expect(errors).toEqual([]);
  });

  it('shows the company budget tile only with a shared budget: gateways and share, then the fallback share and why, in the chosen language', async () => {
    const { page, web, provider, errors } = await open();
    await ready(page, web.url);
    const tile = page.locator('[data-field="company"]');
    expect(await tile.isVisible()).toBe(false);
    provider.update((s) => {
      s.budget.shared = {
        key: 'acme',
        redis: 'redis://10.0.0.5:6379',
        state: 'shared',
        since: s.now - 60_000,
        companyPerMinute: 115,
        fallbackPerMinute: 30,
        companyUsedLastMinute: 88,
        companyLimit: 115,
        gateways: 3,
        sharePerMinute: 46,
        seenAt: s.now,
      };
    });
    await page.waitForSelector('[data-field="company"]:not([hidden])');
    expect(await tile.locator('[data-field="company-used"]').textContent()).toBe('88 / 115');
    expect(await tile.locator('[data-field="company-detail"]').textContent()).toBe('3 gateways · this one 46/min');
    expect(await tile.getAttribute('data-state')).toBe('ok');
    // This gateway's own tile: its 37 requests against its share of 46, not its fallback share.
    expect(await page.locator('[data-field="budget-used"]').textContent()).toBe('37 / 46');
    // A gateway not heard from (crashed, or cut off from Redis): its fallback share is kept free, and the tile says so.
    provider.update((s) => {
      Object.assign(s.budget.shared!, { companyLimit: 83, gateways: 2, reservedPerMinute: 32, gatewaysAway: 1 });
    });
    await page.waitForSelector('[data-field="company-used"]:text("88 / 83")');
    expect(await tile.locator('[data-field="company-detail"]').textContent()).toBe(
      '2 gateways · this one 46/min · 32/min kept free for gateways not heard from (1)',
    );
    // The gateways' fallback shares add up to more than the company's figure: with Redis gone for all they would exceed it.
    provider.update((s) => {
      Object.assign(s.budget.shared!, { fallbackSharesPerMinute: 140 });
    });
    await page.waitForSelector('[data-field="company"][data-state="attention"]');
    expect(await tile.locator('[data-field="company-detail"]').textContent()).toBe(
      "2 gateways · this one 46/min · 32/min kept free for gateways not heard from (1) · the gateways' fallback shares add up to 140/min, above the company's 115/min: lower their prodsmart.requestsPerMinute",
    );
    provider.update((s) => {
      Object.assign(s.budget.shared!, { fallbackSharesPerMinute: 100 });
    });
    await page.waitForSelector('[data-field="company"][data-state="ok"]');
    provider.update((s) => {
      Object.assign(s.budget.shared!, { state: 'fallback', reason: 'SFG_BUDGET_TIMEOUT' });
    });
    await page.waitForSelector('[data-field="company"][data-state="attention"]');
    expect(await tile.locator('[data-field="company-detail"]').textContent()).toBe('on its fallback share of 30/min: Redis unavailable (SFG_BUDGET_TIMEOUT)');
    expect(errors).toEqual([]);

    const context = await browser.newContext({ locale: 'pl-PL' });
    closers.push(() => context.close());
    const pl = await context.newPage();
    await ready(pl, web.url);
    expect(await pl.locator('[data-field="company-detail"]').textContent()).toBe('na udziale awaryjnym 30/min: Redis niedostępny (SFG_BUDGET_TIMEOUT)');
    expect(await pl.locator('[data-field="company"] .label').textContent()).toBe('Limit firmy / min');
    // Cut off for long: down to 1/min, said in the tile (and in full in its tooltip), and its own tile counts against 1.
    provider.update((s) => {
      Object.assign(s.budget.shared!, { fallbackStep: 'trickle', sharePerMinute: 1, answeredAt: s.now - 20 * 60_000 });
    });
    const trickle =
      '1/min only: Redis has not answered for 20 min (SFG_BUDGET_TIMEOUT); the other gateways no longer keep its share free — reconnect it to Redis';
    await page.waitForSelector('[data-field="company-detail"]:text("1/min only")');
    expect(await tile.locator('[data-field="company-detail"]').textContent()).toBe(trickle);
    expect(await tile.locator('[data-field="company-detail"]').getAttribute('title')).toBe(`${trickle} — acme @ redis://10.0.0.5:6379`);
    expect(await page.locator('[data-field="budget-used"]').textContent()).toBe('37 / 1');
    await pl.waitForSelector('[data-field="company-detail"]:text("tylko 1/min")');
    expect(await pl.locator('[data-field="company-detail"]').textContent()).toBe(
      'tylko 1/min: Redis nie odpowiada od 20 min (SFG_BUDGET_TIMEOUT); pozostałe bramki nie rezerwują już udziału tej bramki — przywróć jej połączenie z Redis',
    );
  });

  it('updates a count live, without reloading the page', async () => {
    const { page, web, provider } = await open();
    await ready(page, web.url);
    expect(await page.locator(countCell).getAttribute('data-value')).toBe(String(12840 % 65536));
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    provider.update((s) => {
      s.machines[0].values.count = { value: 13001, at: s.now };
    });
    await page.waitForSelector(`${countCell}[data-value="13001"]`);
    expect(await page.evaluate(() => 'sameDocument' in window)).toBe(true);
    expect(await page.locator('[data-field="live"]').getAttribute('data-mode')).toBe('live');
  });

  it('falls back to polling where EventSource is missing', async () => {
    const { page, web, provider } = await open();
    await page.addInitScript(() => Reflect.deleteProperty(window, 'EventSource'));
    await ready(page, web.url);
    provider.update((s) => {
      s.machines[0].values.count = { value: 4242, at: s.now };
    });
    await page.waitForSelector(`${countCell}[data-value="4242"]`);
    expect(await page.locator('[data-field="live"]').getAttribute('data-mode')).toBe('polling');
  });

  it('falls back to polling when the server refuses the event stream (too many streams: 503)', async () => {
    const { page, web, provider } = await open({ maxEventClients: 0 });
    await ready(page, web.url);
    provider.update((s) => {
      s.machines[0].values.count = { value: 4343, at: s.now };
    });
    await page.waitForSelector(`${countCell}[data-value="4343"]`);
    expect(await page.locator('[data-field="live"]').getAttribute('data-mode')).toBe('polling');
  });

  it('lists a dead letter and drops it with the Drop button', async () => {
    const { page, web, provider } = await open();
    await ready(page, web.url);
    const row = page.locator('[data-dead-letter-id="7"]');
    expect(await row.textContent()).toContain('Waste code "Scrap" does not exist for machine PRESS02');
    page.once('dialog', (dialog) => dialog.accept());
    await row.locator('button[data-action="drop"]').click();
    await row.waitFor({ state: 'detached' });
    expect(provider.calls.drop).toEqual([7]);
    expect(await page.locator('[data-field="action-message"]').textContent()).toBe('Dead letter 7 dropped.');
    expect(await page.locator('[data-field="dead-letters-empty"]').isVisible()).toBe(true);
  });

  it('shows configuration errors in a banner', async () => {
    const { page, web, provider } = await open();
    await ready(page, web.url);
    expect(await page.locator('[data-field="config-errors"]').isVisible()).toBe(false);
    provider.update((s) => {
      s.config.errors = ['devices/press.yaml:7:5 machines[0].count.area: expected holding, input, coil or discrete'];
    });
    await page.locator('[data-field="config-errors"]').waitFor({ state: 'visible' });
    expect(await page.locator('[data-field="config-error-list"]').textContent()).toContain('devices/press.yaml:7:5');
  });

  it('shows a 429 pause, and what the MES asked when it was cut to the cap', async () => {
    const { page, web, provider } = await open();
    await ready(page, web.url);
    provider.update((s) => {
      s.mes.pausedUntil = s.now + 10 * 60_000;
      s.mes.rateLimit = { since: s.now - 5 * 60_000, until: s.now + 10 * 60_000, askedMs: 99_999_000, capMs: 15 * 60_000 };
    });
    const detail = page.locator('[data-field="mes-detail"]');
    await page.waitForSelector('[data-field="mes-detail"]:has-text("(429)")');
    expect(await detail.textContent()).toMatch(/^sending paused for (9|10) min by the MES \(429\) \(MES asked for 27 h 46 min, cut to 15 min\)$/);
  });

  it('shows a device whose line a commissioning scan holds as paused, and connected again after', async () => {
    const { page, web, provider } = await open();
    await ready(page, web.url);
    const pill = page.locator('[data-device="press-plc-1"] [data-field="state"]');
    provider.update((s) => {
      s.devices[0].paused = 'commissioning';
    });
    await page.waitForSelector('[data-device="press-plc-1"] [data-field="state"][data-state="paused"]');
    expect(await pill.textContent()).toBe('Paused: commissioning scan');
    provider.update((s) => {
      delete s.devices[0].paused;
    });
    await page.waitForSelector('[data-device="press-plc-1"] [data-field="state"][data-state="connected"]');
    expect(await pill.textContent()).toBe('Connected');
  });

  it('shows a full disk in a banner, and hides it once writing resumes', async () => {
    const { page, web, provider, errors } = await open();
    await ready(page, web.url);
    const banner = page.locator('[data-field="storage-problem"]');
    expect(await banner.isVisible()).toBe(false);
    provider.update((s) => {
      s.storage = { path: '/var/lib/shopfloor-gateway/gateway.db', state: 'full', since: s.now, lastError: 'database or disk is full', failures: 12 };
    });
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toMatch(/Storage full.*\/var\/lib\/shopfloor-gateway\/gateway\.db: database or disk is full \(12 failed writes\)/s);
    provider.update((s) => {
      s.storage = { path: s.storage.path, state: 'ok' };
    });
    await banner.waitFor({ state: 'hidden' });
    expect(errors).toEqual([]);
  });

  it('asks for the token when web.token is set, shows the page, and logs out', async () => {
    const token = 'browser-test-token-0123456789';
    const { page, web } = await open({ token });
    await page.goto(web.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="token"]', token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('[data-machine="PRESS01"]').isVisible()).toBe(true);

    await page.click('[data-field="logout"] button');
    await page.waitForURL(/\/login$/);
    await page.goto(web.url);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  it('shows no Log out button without web.token', async () => {
    const { page, web } = await open();
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/session'));
    await ready(page, web.url);
    expect(await (await answered).json()).toEqual({ session: false });
    expect(await page.locator('[data-field="logout"]').isVisible()).toBe(false);
  });

  it('saves screenshots for a person to look at', async () => {
    mkdirSync('test-results', { recursive: true });
    const landscape = await open();
    await ready(landscape.page, landscape.web.url);
    await landscape.page.screenshot({ path: 'test-results/status-page.png', fullPage: true });
    const portrait = await open({}, { width: 768, height: 1024 });
    await ready(portrait.page, portrait.web.url);
    await portrait.page.screenshot({ path: 'test-results/status-page-portrait.png', fullPage: true });
    expect([...landscape.errors, ...portrait.errors]).toEqual([]);
  });
});
