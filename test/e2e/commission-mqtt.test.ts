/**
 * Commissioning an MQTT device in the browser: listen under a topic prefix on a real broker,
 * pick a topic and a JSON path of its last payload, map it as the count.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../src/sim/free-port.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { launchChromium, openCommissioning, openCommissionPage } from '../helpers/commission-browser.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { publisher, topicPrefix } from '../helpers/mosquitto-harness.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';

describe('commissioning an MQTT device in the browser', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('hears the topics under a prefix, offers the JSON paths of a payload, and maps one as the count', { timeout: 120_000 }, async () => {
    const broker = await startMosquitto();
    defer(() => broker.cleanup());
    const prefix = topicPrefix();
    const pub = await publisher(broker.url);
    defer(() => pub.close());
    await pub.publish(`${prefix}/press1/state`, JSON.stringify({ machine: { count: 17, running: true }, temps: [20.5] }), true);
    await pub.publish(`${prefix}/press1/alive`, 'yes', true);
    const mes = await startMesSandbox({
      credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
      machines: { MQ01: { waste: [], downtimeTypes: ['Unplanned'] } },
    });
    defer(() => mes.close());
    // The gateway wants one device file to start; this one's PLC is off.
    const idle = `device: idle\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${await freePort()} }\nmachines:\n  - code: IDLE01\n    count: { area: holding, address: 0 }\n`;
    const cfg = writeConfig(dir, { mesUrl: mes.url, devices: { idle } });
    const gw = startGateway(cfg.gatewayFile);
    defer(() => gw.kill());
    await gw.waitForLog((l) => l.event === 'web.listening');
    const token = await openCommissioning(cfg.gatewayFile);
    const browser: Browser = await launchChromium();
    defer(() => browser.close());
    const { page, errors } = await openCommissionPage(browser, gw, token);
    defer(() => page.screenshot({ path: 'test-results/commission-mqtt-last.png', fullPage: true })); // what the page showed at the end, pass or fail

    await page.locator('[data-step="device"] select[name="protocol"]').selectOption('mqtt');
    await page.locator('[data-step="device"] [name="device"]').fill('press1-mqtt');
    await page.locator('[data-step="device"] [name="url"]').fill(broker.url);
    await page.locator('[data-step="mqtt"] [name="prefix"]').fill(prefix);
    await page.locator('[data-step="mqtt"] [name="seconds"]').fill('2');
    await page.locator('[data-action="listen"]').click();
    await page.locator('[data-step="mqtt"] [data-field="job"][data-state="done"]').waitFor({ timeout: 30_000 });
    const topics = await page.locator('[data-field="mqtt-topics"] tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-topic')).sort());
    expect(topics).toEqual([`${prefix}/press1/alive`, `${prefix}/press1/state`]);

    await page.locator(`tr[data-topic="${prefix}/press1/state"] [data-action="pick"]`).click();
    const paths = await page.locator('[data-field="mqtt-paths"] [data-path]').evaluateAll((b) => b.map((x) => x.getAttribute('data-path')));
    expect(paths).toEqual(['machine.count', 'machine.running', 'temps.0']);
    await page.locator('[data-field="mqtt-paths"] [data-path="machine.count"]').click();
    await page.locator('[data-step="map"] [name="machine"]').fill('MQ01');
    await page.locator('[data-map="count"]').click();
    await page.locator('[data-endpoint="counter"]').waitFor();
    expect(parse(await page.locator('[data-field="yaml"]').inputValue())).toMatchObject({
      device: 'press1-mqtt',
      protocol: 'mqtt',
      connection: { url: broker.url },
      machines: [{ code: 'MQ01', count: { topic: `${prefix}/press1/state`, path: 'machine.count' } }],
    });
    expect(await page.locator('[data-field="problems"] li').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
