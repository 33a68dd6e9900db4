/**
 * The status page as the composition root runs it: Gateway.start failing at its last step
 * (the port is taken) rejects with the cause and leaves nothing running behind, so `run`
 * can exit 1 and systemd restart it; a reload with new web settings moves the page, and
 * keeps the old ones when the new port is taken; the page answers before the devices connect.
 */
import { get } from 'node:http';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/outbox/db.js';
import { freePorts } from '../../src/sim/free-port.js';
import { ManualClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';

function withWebListen(loaded: LoadedConfig, listen: string): LoadedConfig {
  return { ...loaded, gateway: { ...loaded.gateway, web: { ...loaded.gateway.web, listen } } };
}

const plcYaml = (port: number) =>
  `device: plc\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${port} }\nmachines:\n  - code: M1\n    count: { area: holding, address: 0 }\n`;

describe('gateway status page', () => {
  const dir = tempDir();
  const defer = deferCleanup();

  it('a status page that cannot listen fails the start, with every adapter, timer and the database closed', async () => {
    const [plcPort, webPort] = await freePorts(2);
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(webPort, '127.0.0.1', r));
    defer(() => new Promise((r) => taken.close(r)));
    // No PLC on plcPort: the adapter retries on the clock until it is stopped.
    const cfg = writeConfig(dir, {
      mesUrl: 'http://127.0.0.1:9',
      devices: { plc: plcYaml(plcPort) },
    });
    const config = withWebListen(loadConfig(cfg.gatewayFile), `127.0.0.1:${webPort}`);
    const clock = new ManualClock();
    const db = openDatabase(cfg.dbPath);

    await expect(Gateway.start({ config, logger: pino({ level: 'silent' }), clock, db })).rejects.toMatchObject({ cause: { code: 'EADDRINUSE' } });

    expect(db.open).toBe(false);
    expect(clock.pending()).toEqual([]);
    // With the port free again the same database starts a gateway.
    await new Promise((r) => taken.close(r));
    const gateway = await Gateway.start({ config, logger: pino({ level: 'silent' }), clock });
    defer(() => gateway.stop());
    expect(gateway.url).toBe(`http://127.0.0.1:${webPort}/`);
  });

  it('the page answers before the devices connect: what starts before them (the demo simulators) does not hold it back', async () => {
    const [plcPort, webPort] = await freePorts(2);
    let connections = 0;
    const plc = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => plc.listen(plcPort, '127.0.0.1', r));
    defer(() => new Promise((r) => plc.close(r)));
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { plc: plcYaml(plcPort) } });
    const config = withWebListen(loadConfig(cfg.gatewayFile), `127.0.0.1:${webPort}`);
    let seen: { devices: { id: string; state: string }[] } | undefined;
    let connectionsThen = -1;

    const gateway = await Gateway.start({
      config,
      logger: pino({ level: 'silent' }),
      clock: new ManualClock(),
      beforeDevices: async () => {
        seen = await (await fetch(`http://127.0.0.1:${webPort}/api/status`)).json();
        connectionsThen = connections;
      },
    });
    defer(() => gateway.stop());

    expect(seen?.devices).toMatchObject([{ id: 'plc', state: 'connecting' }]);
    expect(connectionsThen).toBe(0);
    await expect.poll(() => connections, { timeout: 5000 }).toBeGreaterThan(0);
  });

  it('a reload with a new listen address moves the page there; a taken one keeps the page where it was', async () => {
    const [plcPort, first, second, busy] = await freePorts(4);
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(busy, '127.0.0.1', r));
    defer(() => new Promise((r) => taken.close(r)));
    const cfg = writeConfig(dir, { mesUrl: 'http://127.0.0.1:9', devices: { plc: plcYaml(plcPort) } });
    const loaded = loadConfig(cfg.gatewayFile);
    const { logger, lines } = recordingLogger();
    const gateway = await Gateway.start({ config: withWebListen(loaded, `127.0.0.1:${first}`), logger, clock: new ManualClock() });
    defer(() => gateway.stop());
    // A new connection each time, as a browser's retry makes: a kept-alive one from before the
    // restart may not yet have read its close (this process is also the server).
    const healthz = (port: number) =>
      new Promise<number | 'refused'>((resolve) => {
        get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', () => resolve('refused'));
      });

    await gateway.reload(withWebListen(loaded, `127.0.0.1:${second}`));
    expect(gateway.url).toBe(`http://127.0.0.1:${second}/`);
    expect(await healthz(second)).not.toBe('refused');
    expect(await healthz(first)).toBe('refused');

    await gateway.reload(withWebListen(loaded, `127.0.0.1:${busy}`));
    expect(gateway.url).toBe(`http://127.0.0.1:${second}/`);
    expect(await healthz(second)).not.toBe('refused');
    expect(lines('web.restart_failed')).toHaveLength(1);
  });
});
