/**
 * A serial RTU line shared by every device file on the same `path`: the port is opened
 * once, requests go out one at a time in fair turns across devices, and a port that
 * disappears (USB adapter pulled) is reopened by the next request once it is back.
 * A dead unit costs the line only its own turns: its request times out and its adapter
 * stops asking until its backoff has passed. Commissioning's unit scan takes the line for
 * itself (serialUnitLink, `exclusive`): the devices' requests wait in their queues meanwhile.
 */
import type { Clock } from '../../core/clock.js';
import { sleep } from '../../core/clock.js';
import type { ModbusArea, RawData } from './decode.js';
import { errorText, InFlight, ModbusClient, type ModbusLink, type UnitLink } from './link.js';
import { TurnQueue } from './turns.js';

export interface SerialSettings {
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

interface Job {
  owner: object;
  unitId: number;
  timeoutMs: number;
  area: ModbusArea;
  start: number;
  count: number;
  resolve(data: RawData): void;
  reject(err: unknown): void;
}

const sameSettings = (a: SerialSettings, b: SerialSettings) =>
  a.baudRate === b.baudRate && a.parity === b.parity && a.dataBits === b.dataBits && a.stopBits === b.stopBits;

class SerialBus {
  private client: ModbusClient | undefined;
  private opening: Promise<ModbusClient> | undefined;
  private readonly turns = new TurnQueue<object, Job>();
  private readonly inFlight = new InFlight();
  private pumping = false;
  private closed = false;
  private current: Job | undefined;
  /** The one member served while it holds the line; the others' requests wait. */
  private exclusive: object | undefined;
  readonly members = new Set<object>();
  /** Silence between frames: 3.5 characters of 11 bits, at least 2 ms (spec: 1.75 ms above 19200 Bd). */
  private readonly gapMs: number;

  constructor(
    readonly settings: SerialSettings,
    private readonly clock: Clock,
  ) {
    this.gapMs = Math.max(2, Math.ceil((3.5 * 11 * 1000) / settings.baudRate));
  }

  ensureOpen(): Promise<ModbusClient> {
    if (this.closed) return Promise.reject(new Error('closed'));
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.opening ??= this.openPort().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async openPort(): Promise<ModbusClient> {
    const { path, ...options } = this.settings;
    const c = new ModbusClient();
    c.on('error', () => undefined); // surfaces as a failed request or a close
    try {
      await c.connectRTUBuffered(path, options);
    } catch (err) {
      throw new Error(`cannot open ${path}: ${errorText(err)}`, { cause: err });
    }
    c.on('close', () => {
      if (this.client !== c) return;
      this.client = undefined;
      this.inFlight.failAll(`serial port ${path} closed`);
    });
    this.client = c;
    return c;
  }

  request(job: Omit<Job, 'resolve' | 'reject'>): Promise<RawData> {
    return new Promise((resolve, reject) => {
      this.turns.push(job.owner, { ...job, resolve, reject });
      void this.pump();
    });
  }

  /** Serves only `owner` until release(owner) or it leaves. */
  hold(owner: object): void {
    this.exclusive = owner;
  }

  release(owner: object): void {
    if (this.exclusive !== owner) return;
    this.exclusive = undefined;
    void this.pump();
  }

  leave(owner: object): void {
    this.release(owner);
    this.members.delete(owner);
    for (const job of this.turns.remove(owner)) job.reject(new Error('closed'));
    // Its request on the wire still holds the line until answered or timed out; the owner need not wait.
    if (this.current?.owner === owner) this.current.reject(new Error('closed'));
  }

  async closePort(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined); // an open in progress completes, then is closed
    const c = this.client;
    this.client = undefined;
    this.inFlight.failAll('closed');
    if (c?.isOpen) await new Promise<void>((resolve) => c.close(() => resolve()));
  }

  /** One request at a time; runs until the turn queue is empty. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.turns.next(this.exclusive); job; job = this.turns.next(this.exclusive)) {
        this.current = job;
        try {
          job.resolve(await this.execute(job));
        } catch (err) {
          job.reject(err);
        }
        this.current = undefined;
        await sleep(this.clock, this.gapMs);
      }
    } finally {
      this.pumping = false;
      this.current = undefined;
    }
  }

  private async execute(job: Job): Promise<RawData> {
    const c = await this.ensureOpen();
    c.setID(job.unitId);
    c.setTimeout(job.timeoutMs);
    return this.inFlight.read(c, job.area, job.start, job.count);
  }
}

const buses = new Map<string, SerialBus>();

/** Joins the line of `settings.path` (opening the port if needed) as `owner`. */
async function join(owner: object, settings: SerialSettings, clock: Clock, warn: (message: string) => void): Promise<SerialBus> {
  let b = buses.get(settings.path);
  if (!b) {
    b = new SerialBus(settings, clock);
    buses.set(settings.path, b);
  } else if (!sameSettings(b.settings, settings)) {
    warn(`${settings.path} is already open with ${JSON.stringify(b.settings)}; these line settings are ignored`);
  }
  b.members.add(owner);
  try {
    await b.ensureOpen();
  } catch (err) {
    await leaveBus(b, owner);
    throw err;
  }
  return b;
}

/** The last member to leave closes the port. */
async function leaveBus(b: SerialBus, owner: object): Promise<void> {
  b.leave(owner);
  if (b.members.size === 0 && buses.get(b.settings.path) === b) {
    buses.delete(b.settings.path);
    await b.closePort();
  }
}

/**
 * A link to one unit on a shared serial line. open() joins the line (opening the port if
 * needed), close() leaves it; the last device to leave closes the port.
 */
export function serialLink(settings: SerialSettings, target: { unitId: number; timeoutMs: number }, clock: Clock, warn: (message: string) => void): ModbusLink {
  const owner = {};
  let bus: SerialBus | undefined;

  const leave = async () => {
    const b = bus;
    bus = undefined;
    if (b) await leaveBus(b, owner);
  };

  return {
    async open() {
      await leave();
      bus = await join(owner, settings, clock, warn);
    },
    read(area, start, count) {
      if (!bus) return Promise.reject(new Error('not connected'));
      return bus.request({ owner, ...target, area, start, count });
    },
    close: leave,
  };
}

/**
 * Any unit on a serial line, for commissioning: in turns with the devices on the line, or,
 * `exclusive`, alone on it until closed (a unit scan: the devices' polling waits).
 */
export async function serialUnitLink(settings: SerialSettings, clock: Clock, exclusive: boolean, warn: (message: string) => void): Promise<UnitLink> {
  const owner = {};
  const bus = await join(owner, settings, clock, warn);
  if (exclusive) bus.hold(owner);
  return {
    read: (unitId, area, start, count, timeoutMs) => bus.request({ owner, unitId, timeoutMs, area, start, count }),
    close: () => leaveBus(bus, owner),
  };
}
