/**
 * Commissioning an MQTT device in the browser: listen under a topic prefix on a real broker,
 * pick a topic and a JSON path of its last payload, map it as the count.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionInBrowser, startCommissionRig } from '../helpers/commission-browser.js';
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
    const rig = await startCommissionRig(dir, defer, { machines: { MQ01: { waste: [], downtimeTypes: ['Unplanned'] } } });
    const { page, errors } = await commissionInBrowser(rig, defer, 'commission-mqtt');

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
