/**
 * Commissioning's Modbus tools (src/gateway/commission-tools.ts) against Debian's pymodbus:
 * a register scan of a unit with holes finds exactly the answering ranges, a unit scan over
 * socat ptys finds units 1 and 2 and not a dead 3 while the line's own polling waits, the
 * connection check says where it failed, a read decodes every way, and nothing but
 * function codes 1-4 reaches the slave.
 */
import { describe, expect, it } from 'vitest';
import { createModbusAdapter } from '../../src/adapters/modbus/adapter.js';
import type { ModbusDecoded, RegisterScanResult, UnitScanResult } from '../../src/core/commission.js';
import type { DeviceConfig } from '../../src/config/schema.js';
import { freePort } from '../../src/sim/free-port.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { commissionTools, finished } from '../helpers/commission-tools.js';
import { device } from '../helpers/modbus-harness.js';
import { startPymodbus } from '../helpers/modbus-pymodbus.js';
import { startPtyPair } from '../helpers/modbus-socat.js';
import { adapterContext, RecordingSink } from '../helpers/recording-sink.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const dir = tempDir('commission-modbus-');
const defer = deferCleanup();

const tcp = (port: number, extra: Record<string, unknown> = {}) => ({
  device: 'press',
  protocol: 'modbus-tcp',
  connection: { host: '127.0.0.1', port, timeoutMs: 1000, ...extra },
});

/** Addresses that answered, as ranges: `0-9 15-29`. */
function ranges(results: RegisterScanResult[]): string {
  const ok = results.filter((r) => r.value !== undefined).map((r) => r.address);
  const out: string[] = [];
  for (let i = 0; i < ok.length; i++) {
    let j = i;
    while (j + 1 < ok.length && ok[j + 1] === ok[j] + 1) j++;
    out.push(ok[i] === ok[j] ? `${ok[i]}` : `${ok[i]}-${ok[j]}`);
    i = j;
  }
  return out.join(' ');
}

describe('modbus.registers scan', () => {
  it('finds exactly the answering ranges of a unit with holes, splitting the blocks refused with exception 2, and sends only reads', async () => {
    const holes = ['holding:10', 'holding:11', 'holding:12', 'holding:13', 'holding:14', 'holding:30'];
    const slave = await startPymodbus({ size: 60, holes, initial: { 'holding:0': [11, 12], 'holding:31': [7] } });
    defer(() => slave.kill());
    const { tools } = commissionTools(dir);

    const job = tools.startJob('modbus.registers', { device: tcp(slave.port), area: 'holding', from: 0, to: 69, block: 16, ratePerS: 50 });
    expect(job.state).toBe('running');
    await finished(job);
    expect(job.state).toBe('done');
    const results = job.results as RegisterScanResult[];
    expect(ranges(results)).toBe('0-9 15-29 31-59');
    expect(results.filter((r) => r.exception === 2).map((r) => r.address)).toEqual([10, 11, 12, 13, 14, 30, ...Array.from({ length: 10 }, (_, i) => 60 + i)]);
    expect(results.find((r) => r.address === 31)?.value).toBe(7);
    expect(results.map((r) => r.address).sort((a, b) => a - b)).toEqual(Array.from({ length: 70 }, (_, i) => i));
    expect(job.progress).toEqual({ done: 70, total: 70 });

    // Then a unit scan and a read: over the whole session the slave saw read function codes only.
    const units = tools.startJob('modbus.units', { device: tcp(slave.port), from: 1, to: 5 });
    await finished(units);
    expect((units.results as UnitScanResult[]).map((u) => [u.unitId, u.present])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
    ]);
    await tools.modbusRead(tcp(slave.port), { unitId: 1, area: 'input', address: 0, count: 2 });
    await tools.modbusRead(tcp(slave.port), { unitId: 1, area: 'coil', address: 0, count: 8 });
    // The coil read came last: once the slave logged it, it logged all before it.
    await eventually(
      () => slave.functionCodes,
      (fcs) => fcs.includes(1),
      10_000,
      'the last request logged',
    );
    expect([...new Set(slave.functionCodes)].sort()).toEqual([1, 3, 4]);
  });

  it('refuses a range above the cap and says the cap; aborts a running scan', async () => {
    const slave = await startPymodbus({ size: 2000 });
    defer(() => slave.kill());
    const { tools } = commissionTools(dir);
    const big = tools.startJob('modbus.registers', { device: tcp(slave.port), area: 'input', from: 0, to: 9999 });
    await finished(big);
    expect(big.state).toBe('failed');
    expect(big.error).toEqual({ code: 'SFG_COMMISSION_SCAN_TOO_BIG', message: expect.stringContaining('at most 4000 addresses') });

    // One address a request, 2 a second: the scan would take minutes.
    const slow = tools.startJob('modbus.registers', { device: tcp(slave.port), area: 'holding', from: 0, to: 999, block: 1, ratePerS: 2 });
    await eventually(
      () => slow.progress.done,
      (n) => n >= 1,
      10_000,
      'the first answer',
    );
    expect(slow.etaMs).toBeGreaterThan(60_000);
    slow.abort();
    await finished(slow);
    expect(slow.state).toBe('aborted');
    expect(slow.results.length).toBeLessThan(10);
    expect(slow.etaMs).toBeUndefined();
  });
});

describe('modbus.units scan on a serial line', () => {
  it('finds units 1 and 2 and not a dead 3, while the polling of the line waits, and resumes it after', async () => {
    const pty = await startPtyPair(dir);
    defer(() => pty.kill());
    const slave = await startPymodbus({ serial: pty.b, units: [1, 2] });
    defer(() => slave.kill());
    await slave.set('input', 5, 77);
    const rtu = { device: 'unit1', protocol: 'modbus-rtu', connection: { path: pty.a, unitId: 1, timeoutMs: 300 } };
    const running = device<DeviceConfig>({ ...rtu, pollIntervalMs: 10, machines: [{ code: 'M1', count: { area: 'input', address: 5 } }] });
    const sink = new RecordingSink();
    const adapter = createModbusAdapter(running, adapterContext(sink));
    defer(() => adapter.stop());
    await adapter.start();
    await eventually(
      () => sink.latest('M1', 'count'),
      (v) => v === 77,
      10_000,
      'the device polling',
    );

    const { tools, pauses } = commissionTools(dir, [running]);
    const job = tools.startJob('modbus.units', { device: rtu, from: 1, to: 3 });
    await finished(job);
    expect(job.state).toBe('done');
    const found = job.results as UnitScanResult[];
    expect(found.map((u) => [u.unitId, u.present])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(found[0].rttMs).toBeGreaterThanOrEqual(0);
    expect(pauses).toEqual(['pause unit1', 'resume unit1']);

    // The line was the scan's alone: no poll of the device's input register between its requests.
    const log = slave.requests.map((r) => `${r.unit} ${r.area} ${r.address}`);
    const first = log.indexOf('1 holding 0');
    const second = log.indexOf('2 holding 0');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(second).toBeGreaterThan(first);
    expect(log.slice(first, second + 1)).toEqual(['1 holding 0', '2 holding 0']);

    // Polling goes on after the scan.
    const before = sink.batches.length;
    await slave.set('input', 5, 78);
    await eventually(
      () => sink.latest('M1', 'count'),
      (v) => v === 78,
      10_000,
      'polling after the scan',
    );
    expect(sink.batches.length).toBeGreaterThan(before);
  });
});

describe('connection check', () => {
  it('says at which step it failed, with a stable code, in words a technician can act on', async () => {
    const { tools } = commissionTools(dir);
    const closed = await freePort();
    const refused = await tools.check(tcp(closed));
    expect(refused).toEqual([{ step: 'tcp.connect', ok: false, code: 'ECONNREFUSED', detail: expect.stringMatching(/nothing listens on this port/) }]);

    const slave = await startPymodbus({ units: [1] });
    defer(() => slave.kill());
    expect(await tools.check(tcp(slave.port))).toEqual([
      { step: 'tcp.connect', ok: true, detail: `127.0.0.1:${slave.port} open` },
      { step: 'modbus.first-read', ok: true, detail: expect.stringMatching(/^unit 1 answered in \d+ ms$/) },
    ]);
    const silent = await tools.check(tcp(slave.port, { unitId: 9, timeoutMs: 200 }));
    expect(silent[1]).toEqual({
      step: 'modbus.first-read',
      ok: false,
      code: 'SFG_MODBUS_NO_ANSWER',
      detail: expect.stringMatching(/no answer from unit 9 within 200 ms: check the unit id/),
    });
    // A Modbus TCP gateway answers 11 (target failed to respond) for a unit it cannot reach.
    await slave.fail(11, 1);
    const behind = await tools.check(tcp(slave.port));
    expect(behind[1]).toEqual({ step: 'modbus.first-read', ok: false, code: 'SFG_MODBUS_NO_UNIT', detail: expect.stringMatching(/no unit 1 behind it/) });
    // Any other exception: the unit is there.
    await slave.fail(2, 1);
    expect((await tools.check(tcp(slave.port)))[1]).toMatchObject({ ok: true, code: 'SFG_MODBUS_EXCEPTION' });

    const serial = await tools.check({ device: 'rtu', protocol: 'modbus-rtu', connection: { path: `${dir}/no-such-port` } });
    expect(serial).toEqual([{ step: 'serial.open', ok: false, code: 'ENOENT', detail: expect.stringMatching(/is the USB adapter plugged in/) }]);
  });
});

describe('modbus/read', () => {
  it('decodes the registers every way and lights the float32 stored little-endian that the HMI shows', async () => {
    // 23.5 = 0x41BC0000, stored D C B A.
    const slave = await startPymodbus({ initial: { 'holding:100': [0x0000, 0xbc41] } });
    defer(() => slave.kill());
    const { tools } = commissionTools(dir);
    const r = (await tools.modbusRead(tcp(slave.port), { unitId: 1, area: 'holding', address: 100, count: 2, hmi: '23.5' })) as ModbusDecoded;
    expect(r.notation).toBe('40101');
    expect(r.decodings.filter((d) => d.matchesHmi).map((d) => [d.source.type, d.order, d.source])).toEqual([
      ['float32', 'DCBA', { type: 'float32', wordOrder: 'little', byteSwap: true }],
    ]);
    expect(await tools.modbusRead(tcp(slave.port), { unitId: 1, area: 'holding', address: 5000, count: 1 })).toEqual({
      unitId: 1,
      area: 'holding',
      address: 5000,
      exception: 2,
    });
  });
});
