/**
 * The gateway at start: a gateway.yaml that holds the API key in clear and that others can
 * read is warned about in the log (event config.secret_readable), and neither the start-up
 * log nor /api/status shows the key or the secret.
 */
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { startGateway } from '../helpers/gateway-process.js';
import { tempDir } from '../helpers/tmp.js';

const device = 'device: d\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: 1 }\nmachines:\n  - code: M1\n    count: { area: holding, address: 0 }\n';

describe('secrets at start', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('warns about a readable file with a secret in clear, and shows the secret nowhere', async () => {
    const secret = 'Start-Up-S3cret-77';
    const mes = await startMesSandbox({ credentials: { apiKey: 'test-key', apiSecret: secret }, machines: { M1: {} } });
    defer(() => mes.close());
    const { gatewayFile } = writeConfig(dir, { mesUrl: mes.url, devices: { d: device } });
    chmodSync(gatewayFile, 0o644);
    const gw = startGateway(gatewayFile, { TEST_API_SECRET: secret });
    defer(() => gw.kill());

    const warned = await gw.waitForLog((l) => l.event === 'config.secret_readable');
    expect(warned).toMatchObject({
      level: 40,
      file: gatewayFile,
      msg: `${gatewayFile}: holds a secret in clear (prodsmart.auth.apiKey) and is readable by other users; run: chmod 600 ${gatewayFile}`,
    });
    const url = String((await gw.waitForLog((l) => l.event === 'web.listening')).url);
    const status = await (await fetch(`${url}api/status`)).text();
    expect(status).toContain(mes.url);
    for (const text of [JSON.stringify(gw.logs), status]) {
      expect(text).not.toContain('test-key');
      expect(text).not.toContain(secret);
    }
  });
});
