/**
 * The commissioning page of a real gateway in Debian's chromium: the window opened on the box
 * through the real CLI verb (`commission`), the browser sent to the one-time link it printed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { statusUrl, type GatewayProcess } from './gateway-process.js';

const bin = fileURLToPath(new URL('../../bin/shopfloor-gateway.js', import.meta.url));

/** Runs `commission --config FILE` and returns the one-time token of the URL it printed. */
export function openCommissioning(configFile: string, minutes = 30): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [bin, 'commission', '--minutes', String(minutes), '--config', configFile],
      { env: { ...process.env, CI: 'true' } },
      (err, stdout, stderr) => {
        const token = /#commission=([\w-]+)/.exec(stdout)?.[1];
        if (err || !token) reject(new Error(`commission verb failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        else resolve(token);
      },
    ),
  );
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

/** A tablet-sized page in `locale`, opened on the one-time link; resolves once the commissioning view shows. */
export async function openCommissionPage(browser: Browser, gw: GatewayProcess, token: string, locale = 'en-GB'): Promise<CommissionPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A refused request is named by its answer below, not by the console's "Failed to load resource".
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(`${await statusUrl(gw)}/#commission=${token}`);
  await page.locator('[data-field="commission"]').waitFor({ state: 'visible' });
  return { page, errors };
}
