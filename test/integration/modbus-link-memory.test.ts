/**
 * A Modbus TCP link keeps nothing of the answers it returned: modbus-serial holds each sent
 * request (and through its callback the answer) until its transaction id comes round again,
 * which at 50 devices was ~11 MB of heap the gateway never used (bench/footprint).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { tcpLink } from '../../src/adapters/modbus/link.js';
import type { DeviceOf } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { startModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { device } from '../helpers/modbus-harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openLink() {
  const port = await freePort();
  const plc = await startModbusPlcSim({
    host: '127.0.0.1',
    port,
    tickMs: 0,
    device: device<DeviceOf<'modbus-tcp'>>({
      device: 'line1',
      protocol: 'modbus-tcp',
      connection: { host: '127.0.0.1', port },
      machines: [{ code: 'CNC1', count: { area: 'holding', address: 0, type: 'uint32' }, running: { area: 'coil', address: 0 }, downtimeType: 'Unplanned' }],
    }),
  });
  cleanups.push(() => plc.close());
  const link = tcpLink({ host: '127.0.0.1', port, unitId: 1, timeoutMs: 2000 }, 'mbap');
  await link.open();
  cleanups.push(() => link.close());
  return link;
}

it('an answer the poller has dropped is garbage: the link does not keep it', async () => {
  const link = await openLink();
  const answers: WeakRef<object>[] = [];
  for (let i = 0; i < 20; i++) {
    answers.push(new WeakRef(await link.read('holding', 0, 2)));
    answers.push(new WeakRef(await link.read('coil', 0, 1)));
  }
  // A WeakRef holds its target until the current job ends: collect in a later one.
  await new Promise((r) => setImmediate(r));
  gc();
  expect(answers.filter((a) => a.deref() !== undefined)).toHaveLength(0);
  // Still a working link after its requests were forgotten.
  expect(await link.read('holding', 0, 2)).toHaveLength(2);
});
