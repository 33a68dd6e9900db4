/**
 * The commissioning page of a real gateway in Debian's chromium: the window opened on the box
 * through the real CLI verb (`commission`), the browser sent to the one-time link it printed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { statusUrl, type GatewayProcess } from './gateway-process.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

/** Runs the `commission` verb with `args` against `configFile`; resolves with what it printed. */
export function runCommission(configFile: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [bin, 'commission', ...args, '--config', configFile], { env: { ...process.env, CI: 'true' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`commission verb failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Opens a window with `commission --minutes N` and returns the one-time token of the URL it printed. */
export async function openCommissioning(configFile: string, minutes = 30): Promise<string> {
  const printed = await runCommission(configFile, '--minutes', String(minutes));
  const token = /#commission=([\w-]+)/.exec(printed)?.[1];
  if (!token) throw new Error(`no one-time link in what commission printed:\n${printed}`);
  return token;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface CommissionPage {
  page: Page;
  /** Script errors, console errors and refused requests (status ≥ 400) of the page. */
  errors: string[];
}

/**
 * A tablet-sized page in `locale`, opened on the one-time link (the status page alone without
 * a token); resolves once the commissioning view shows (once the page is ready, without).
 * `before` runs before the page loads (e.g. to install a fake clock).
 */
export async function openCommissionPage(
  browser: Browser,
  gw: GatewayProcess,
  token: string | undefined,
  opts: { locale?: string; before?: (page: Page) => Promise<void> } = {},
): Promise<CommissionPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: opts.locale ?? 'en-GB' });
  const page = await context.newPage();
  await opts.before?.(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A refused request is named by its answer below, not by the console's "Failed to load resource".
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(`${await statusUrl(gw)}/${token ? `#commission=${token}` : ''}`);
  if (token) await page.locator('[data-field="commission"]').waitFor({ state: 'visible' });
  else await page.waitForSelector('body[data-ready="true"]');
  return { page, errors };
}
