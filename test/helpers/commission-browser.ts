/**
 * The commissioning page of a real gateway in Debian's chromium: the window opened on the box
 * through the real CLI verb (`commission`), the browser sent to the one-time link it printed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../src/sim/free-port.js';
import { type MesSandbox, type SandboxMachineConfig, startMesSandbox } from '../../src/sim/mes-sandbox.js';
import type { Closer } from './cleanup.js';
import { writeConfig } from './config-files.js';
import { type GatewayProcess, startGateway, statusUrl } from './gateway-process.js';

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

export interface CommissionRig {
  mes: MesSandbox;
  cfg: ReturnType<typeof writeConfig>;
  gw: GatewayProcess;
  browser: Browser;
}

/**
 * A gateway process with its own MES sandbox (`machines`) and `devices` — by default one whose
 * PLC is off, since the gateway wants a device file to start — listening, and a browser; each
 * closed through `defer`.
 */
export async function startCommissionRig(
  dir: string,
  defer: (close: Closer) => void,
  opts: { machines?: Record<string, SandboxMachineConfig>; devices?: Record<string, string> } = {},
): Promise<CommissionRig> {
  const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: 'test-secret' }, machines: opts.machines ?? {} });
  defer(() => mes.close());
  const idle = `device: idle\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${await freePort()} }\nmachines:\n  - code: IDLE01\n    count: { area: holding, address: 0 }\n`;
  const cfg = writeConfig(dir, { mesUrl: mes.url, devices: opts.devices ?? { idle } });
  const gw = startGateway(cfg.gatewayFile);
  defer(() => gw.kill());
  await gw.waitForLog((l) => l.event === 'web.listening');
  const browser = await launchChromium();
  defer(() => browser.close());
  return { mes, cfg, gw, browser };
}

/** Opens a window on the box and the page on its one-time link; what the page showed at the end, pass or fail, is kept as test-results/<name>-last.png. */
export async function commissionInBrowser(rig: CommissionRig, defer: (close: Closer) => void, name: string): Promise<CommissionPage> {
  const token = await openCommissioning(rig.cfg.gatewayFile);
  const opened = await openCommissionPage(rig.browser, rig.gw, token);
  defer(() => opened.page.screenshot({ path: `test-results/${name}-last.png`, fullPage: true }));
  return opened;
}
