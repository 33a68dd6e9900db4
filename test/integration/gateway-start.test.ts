/**
 * Gateway.start when its last step fails (the status page's port is taken): it rejects with
 * the cause and leaves nothing running behind, so `run` can exit 1 and systemd restart it.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/outbox/db.js';
import { freePorts } from '../../src/sim/free-port.js';
import { ManualClock } from '../helpers/clocks.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { deferCleanup } from '../helpers/cleanup.js';

describe('gateway start', () => {
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
      devices: { plc: `device: plc\nprotocol: modbus-tcp\nconnection: { host: 127.0.0.1, port: ${plcPort} }\nmachines:\n  - code: M1\n    count: { area: holding, address: 0 }\n` },
    });
    const loaded = loadConfig(cfg.gatewayFile);
    const config = { ...loaded, gateway: { ...loaded.gateway, web: { ...loaded.gateway.web, listen: `127.0.0.1:${webPort}` } } };
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
});
