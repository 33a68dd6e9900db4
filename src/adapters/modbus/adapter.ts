/**
 * Modbus TCP, RTU over TCP and RTU (serial) devices: a poll loop per device that reads
 * the planned blocks, reports one batch of readings per cycle, and reconnects with capped
 * exponential backoff when the unit stops answering. Each device has its own loop and
 * link, so a dead PLC delays only itself.
 */
import type { DeviceConfig, DeviceOf } from '../../config/schema.js';
import { Backoff, BACKOFF } from '../../core/backoff.js';
import { listSignals } from '../signals.js';
import type { AdapterContext, AdapterFactory, ConnectionState, DeviceAdapter, ProbeRow } from '../types.js';
import { PollBatch, rolloverOf } from './batch.js';
import { serialLink } from './bus.js';
import { describeSource, formatRaw, type RawData } from './decode.js';
import { errorText, tcpLink, type ModbusLink } from './link.js';
import { planReads, type ModbusSignal, type ReadBlock, type ReadPlan } from './plan.js';
import { readCycle, type CycleSink } from './reader.js';

export type ModbusDevice = DeviceOf<'modbus-tcp'> | DeviceOf<'modbus-rtu-over-tcp'> | DeviceOf<'modbus-rtu'>;

function isModbus(device: DeviceConfig): device is ModbusDevice {
  return device.protocol === 'modbus-tcp' || device.protocol === 'modbus-rtu-over-tcp' || device.protocol === 'modbus-rtu';
}

function linkFor(device: ModbusDevice, ctx: AdapterContext): ModbusLink {
  if (device.protocol === 'modbus-rtu') {
    const { path, baudRate, parity, dataBits, stopBits, unitId, timeoutMs } = device.connection;
    return serialLink({ path, baudRate, parity, dataBits, stopBits }, { unitId, timeoutMs }, ctx.clock, (m) => ctx.logger.warn(m));
  }
  return tcpLink(device.connection, device.protocol === 'modbus-tcp' ? 'mbap' : 'rtu');
}

class ModbusPoller implements DeviceAdapter {
  private readonly plan: ReadPlan;
  private readonly link: ModbusLink;
  /** Blocks refused with exception 2, read signal by signal until the next reconnect. */
  private readonly split = new Set<ReadBlock>();
  private started = false;
  private stopped = false;
  private linkOpen = false;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private state: ConnectionState | undefined;
  private stateError: string | undefined;

  constructor(
    private readonly device: ModbusDevice,
    private readonly ctx: AdapterContext,
    private readonly signals: ModbusSignal[],
  ) {
    this.plan = planReads(signals, device.connection.maxGap);
    this.link = linkFor(device, ctx);
    this.backoff = new Backoff(BACKOFF.modbus, ctx.random);
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    this.report('connecting');
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.link.close();
    this.linkOpen = false;
    await this.running;
  }

  async probe(): Promise<ProbeRow[]> {
    const link = linkFor(this.device, this.ctx);
    const rows = new Map<ModbusSignal, ProbeRow>();
    const base = (signal: ModbusSignal): ProbeRow => ({ machine: signal.machine, signal: signal.key, source: describeSource(signal.source) });
    const row = (signal: ModbusSignal, data: RawData | undefined, from = 0, to = 0): ProbeRow => {
      const r = base(signal);
      if (data) r.raw = formatRaw(data.slice(from, to));
      rows.set(signal, r);
      return r;
    };
    const sink: CycleSink = {
      value: (signal, value, data, from, to) => {
        const r = row(signal, data, from, to);
        r.value = value;
        const rollover = rolloverOf(signal);
        if (rollover !== undefined) r.rollover = rollover;
      },
      error: (signal, message, data, from, to) => {
        row(signal, data, from, to).error = message;
      },
    };
    let lost: string | undefined;
    try {
      await link.open();
      lost = await readCycle(link, this.plan, new Set(), sink);
    } catch (err) {
      lost = errorText(err);
    } finally {
      await link.close();
    }
    return this.signals.map((signal) => rows.get(signal) ?? { ...base(signal), error: lost ?? 'not read' });
  }

  private run(): void {
    this.running = this.cycle().catch((err) => {
      // A bug or a throwing sink must not end polling.
      this.ctx.logger.error({ event: 'device.poll_failed', err }, 'modbus poll cycle failed');
      this.schedule(this.device.pollIntervalMs);
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, ms);
  }

  private async cycle(): Promise<void> {
    const began = this.ctx.clock.now();
    if (!this.linkOpen) {
      try {
        await this.link.open();
        this.linkOpen = true;
      } catch (err) {
        return this.fail(errorText(err));
      }
    }
    if (this.stopped) return this.link.close(); // stop() came while opening
    const batch = new PollBatch();
    const lost = await readCycle(this.link, this.plan, this.split, batch);
    if (this.stopped) return;
    if (lost !== undefined) {
      await this.link.close();
      this.linkOpen = false;
      this.split.clear(); // the PLC may come back with another program
      return this.fail(lost);
    }
    this.backoff.reset();
    this.report('connected');
    batch.deliver(this.ctx.sink, this.ctx.clock.now());
    // Fixed rate while the PLC keeps up; never two cycles at once.
    this.schedule(Math.max(0, began + this.device.pollIntervalMs - this.ctx.clock.now()));
  }

  private fail(error: string): void {
    if (this.stopped) return;
    this.report('disconnected', error);
    this.schedule(this.backoff.next());
  }

  private report(state: ConnectionState, error?: string): void {
    if (state === this.state && error === this.stateError) return;
    this.state = state;
    this.stateError = error;
    // The gateway logs connection changes for every protocol alike.
    this.ctx.sink.connection(state, error);
  }
}

export const createModbusAdapter: AdapterFactory = (device, ctx) => {
  if (!isModbus(device)) throw new Error(`device ${device.device}: protocol ${device.protocol} is not Modbus`);
  return new ModbusPoller(device, ctx, listSignals(device));
};
