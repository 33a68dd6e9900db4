/**
 * The device supervisor with fake adapters and a manual clock: what a reload restarts and
 * what it leaves running, that a replaced adapter's late readings land nowhere, and how
 * often a bad value reaches the log.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deviceSchema, type DeviceConfig } from '../../src/config/schema.js';
import type { AdapterContext, AdapterFactory, DeviceAdapter } from '../../src/adapters/types.js';
import type { Reading } from '../../src/core/values.js';
import type { BadValue } from '../../src/machine/processor.js';
import { DeviceSupervisor } from '../../src/gateway/device-supervisor.js';
import { ManualClock } from '../helpers/clocks.js';
import { recordingLogger } from '../helpers/log-lines.js';

function device(id: string, port = 502): DeviceConfig {
  return deviceSchema.parse(
    parse(`device: ${id}
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port} }
machines:
  - code: M-${id}
    count: { area: holding, address: 0 }
`),
  );
}

class FakeAdapter implements DeviceAdapter {
  started = 0;
  stopped = 0;
  constructor(
    readonly device: DeviceConfig,
    readonly ctx: AdapterContext,
  ) {}
  async start(): Promise<void> {
    this.started++;
    this.ctx.sink.connection('connecting');
  }
  async stop(): Promise<void> {
    this.stopped++;
  }
  async probe() {
    return [];
  }
}

function setup(opts: { failFor?: string; refuse?: (batch: Reading[]) => BadValue[] } = {}) {
  const clock = new ManualClock();
  const { logger, lines } = recordingLogger();
  const adapters: FakeAdapter[] = [];
  const ingested: Reading[][] = [];
  let changes = 0;
  let flushes = 0;
  const factory: AdapterFactory = (config, ctx) => {
    if (config.device === opts.failFor) throw new Error('no such serial port');
    const a = new FakeAdapter(config, ctx);
    adapters.push(a);
    return a;
  };
  const supervisor = new DeviceSupervisor({
    clock,
    random: () => 0.5,
    logger,
    stateDir: (id) => `/tmp/state/${id}`,
    // As the gateway does it, without the queue: applied at once, refused values shown on their device.
    ingest: (id, batch) => {
      ingested.push(batch);
      const bad = opts.refuse?.(batch) ?? [];
      for (const b of bad) supervisor.showBadValue(id, b);
    },
    flushReadings: () => flushes++,
    onChange: () => changes++,
    adapterFactory: async () => factory,
  });
  const adapter = (id: string) => adapters.filter((a) => a.device.device === id);
  return { clock, lines, supervisor, adapters, adapter, ingested, changes: () => changes, flushes: () => flushes };
}

describe('device supervisor', () => {
  it('lists every device as connecting at once, while the first adapter is still loading (the page listens before)', async () => {
    const { logger } = recordingLogger();
    let loaded!: () => void;
    const loading = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const adapters: FakeAdapter[] = [];
    const supervisor = new DeviceSupervisor({
      clock: new ManualClock(),
      random: () => 0.5,
      logger,
      stateDir: (id) => `/tmp/state/${id}`,
      ingest: () => {},
      flushReadings: () => {},
      onChange: () => {},
      adapterFactory: async () => {
        await loading;
        return (config, ctx) => {
          const a = new FakeAdapter(config, ctx);
          adapters.push(a);
          return a;
        };
      },
    });
    const started = supervisor.list([device('press'), device('packer', 503)])();
    await Promise.resolve();
    expect(supervisor.statuses().map((d) => [d.id, d.state])).toEqual([
      ['press', 'connecting'],
      ['packer', 'connecting'],
    ]);
    expect(adapters).toHaveLength(0);
    loaded();
    await started;
    expect(adapters.map((a) => [a.device.device, a.started])).toEqual([
      ['press', 1],
      ['packer', 1],
    ]);
  });

  it('reload restarts a changed device, stops a removed one, starts a new one and leaves the unchanged one running', async () => {
    const s = setup();
    await s.supervisor.list([device('a'), device('b'), device('d')])();
    expect(s.adapters.map((a) => a.device.device)).toEqual(['a', 'b', 'd']);

    await s.supervisor.reload([device('a'), device('b', 1502), device('c')]);

    const [a] = s.adapter('a');
    expect(s.adapter('a')).toHaveLength(1);
    expect(a.stopped).toBe(0);
    const [oldB, newB] = s.adapter('b');
    expect(oldB.stopped).toBe(1);
    expect(newB.started).toBe(1);
    expect(newB.device.connection).toMatchObject({ port: 1502 });
    expect(s.adapter('c')[0].started).toBe(1);
    expect(s.adapter('d')[0].stopped).toBe(1);
    expect(s.supervisor.statuses().map((d) => d.id)).toEqual(['a', 'b', 'c']);
    expect(
      s
        .lines()
        .filter((l) => l.event === 'device.restarted')
        .map((l) => l.device),
    ).toEqual(['b']);
    expect(
      s
        .lines()
        .filter((l) => l.event === 'device.removed')
        .map((l) => l.device),
    ).toEqual(['d']);
  });

  it('a reload with nothing changed restarts nothing', async () => {
    const s = setup();
    await s.supervisor.list([device('a'), device('b')])();
    await s.supervisor.reload([device('a'), device('b')]);
    expect(s.adapters).toHaveLength(2);
    expect(s.adapters.every((a) => a.stopped === 0)).toBe(true);
  });

  it('readings a replaced adapter still reports are not taken, nor shown on its successor', async () => {
    const s = setup();
    await s.supervisor.list([device('a')])();
    await s.supervisor.reload([device('a', 1502)]);
    const [old, current] = s.adapter('a');
    old.ctx.sink.readings([{ machine: 'M-a', signal: 'count', value: 7, at: s.clock.now() }]);
    expect(s.ingested).toEqual([]);
    expect(s.supervisor.statuses()[0].lastGoodReadAt).toBeUndefined();
    current.ctx.sink.readings([{ machine: 'M-a', signal: 'count', value: 8, at: s.clock.now() }]);
    expect(s.ingested).toHaveLength(1);
    expect(s.supervisor.statuses()[0].lastGoodReadAt).toBe(s.clock.now());
  });

  it('a device that cannot start is shown disconnected with the reason, and the others run', async () => {
    const s = setup({ failFor: 'a' });
    await s.supervisor.list([device('a'), device('b')])();
    const [a, b] = s.supervisor.statuses();
    expect(a).toMatchObject({ id: 'a', state: 'disconnected', lastError: 'no such serial port' });
    expect(b.state).toBe('connecting');
    expect(s.adapter('b')[0].started).toBe(1);
  });

  it('a bad value is logged when it starts, then once per 10 minutes with how often it happened, and at once when it changes', async () => {
    const s = setup();
    await s.supervisor.list([device('a')])();
    const { sink } = s.adapters[0].ctx;
    const bad = (message: string) => sink.signalError('M-a', 'count', message, s.clock.now());
    for (let i = 0; i < 30; i++) {
      bad('NaN');
      s.clock.advance(10_000);
    }
    // 30 polls over 5 minutes: one line.
    expect(s.lines('signal.bad_value').map((l) => l.times)).toEqual([1]);
    for (let i = 0; i < 31; i++) {
      bad('NaN');
      s.clock.advance(10_000);
    }
    // The first poll at 10 minutes logs again, with the 60 since the first line.
    expect(s.lines('signal.bad_value').map((l) => l.times)).toEqual([1, 60]);
    bad('out of range: -5');
    expect(s.lines('signal.bad_value').map((l) => [l.error, l.times])).toEqual([
      ['NaN', 1],
      ['NaN', 60],
      ['out of range: -5', 1],
    ]);
    expect(s.supervisor.statuses()[0].signalErrors).toEqual([
      { machine: 'M-a', signal: 'count', count: 62, lastMessage: 'out of range: -5', lastAt: s.clock.now() },
    ]);
  });

  it('each signal is throttled on its own', async () => {
    const s = setup();
    await s.supervisor.list([device('a')])();
    const { sink } = s.adapters[0].ctx;
    for (let i = 0; i < 5; i++) {
      sink.signalError('M-a', 'count', 'NaN', s.clock.now());
      sink.signalError('M-a', 'waste:W1', 'NaN', s.clock.now());
    }
    expect(s.lines('signal.bad_value').map((l) => l.signal)).toEqual(['count', 'waste:W1']);
  });

  it('a count the processor refuses is shown and logged as a bad value of its signal', async () => {
    const s = setup({ refuse: (batch) => batch.map((r) => ({ machine: r.machine, signal: r.signal, message: `not a count: ${String(r.value)}`, at: r.at })) });
    await s.supervisor.list([device('a')])();
    const changesBefore = s.changes();
    s.adapters[0].ctx.sink.readings([{ machine: 'M-a', signal: 'count', value: 112.5, at: s.clock.now() }]);
    expect(s.supervisor.statuses()[0].signalErrors).toMatchObject([{ signal: 'count', count: 1, lastMessage: 'not a count: 112.5' }]);
    expect(s.lines('signal.bad_value')).toHaveLength(1);
    expect(s.changes()).toBeGreaterThan(changesBefore);
  });

  it("an adapter's own signal error first applies the readings queued before it, so errors show in the order they came", async () => {
    const s = setup();
    await s.supervisor.list([device('a')])();
    s.adapters[0].ctx.sink.readings([{ machine: 'M-a', signal: 'count', value: 5, at: s.clock.now() }]);
    expect(s.flushes()).toBe(0);
    s.adapters[0].ctx.sink.signalError('M-a', 'count', 'exception 2', s.clock.now());
    expect(s.flushes()).toBe(1);
  });

  it('shows devices paused for commissioning while a scan holds their line, and running again after, each change logged', async () => {
    const s = setup();
    await s.supervisor.list([device('a'), device('b')])();
    const before = s.changes();
    s.adapters[0].ctx.sink.connection('connected');
    expect(s.supervisor.isLive('a')).toBe(true);
    s.supervisor.setPaused(['a', 'gone'], true);
    expect(s.supervisor.statuses().map((d) => [d.id, d.paused])).toEqual([
      ['a', 'commissioning'],
      ['b', undefined],
    ]);
    // Not read meanwhile: the run/stop tick must not take its still count for an idle machine.
    expect(s.supervisor.isLive('a')).toBe(false);
    expect(s.changes()).toBeGreaterThan(before);
    s.supervisor.setPaused(['a'], false);
    expect(s.supervisor.statuses().some((d) => 'paused' in d)).toBe(false);
    expect(s.supervisor.isLive('a')).toBe(true);
    expect(
      s
        .lines()
        .filter((l) => l.event === 'device.paused' || l.event === 'device.resumed')
        .map((l) => [l.event, l.device]),
    ).toEqual([
      ['device.paused', 'a'],
      ['device.resumed', 'a'],
    ]);
  });
});
