/**
 * Benchmark (not a test): registers decoded per second through the Modbus adapter (the real
 * createModbusAdapter poll loop, plan, reader and decode) beside a bare modbus-serial loop
 * that sends the same requests and keeps the words, against the same local server in another
 * process, in the same run. Run: npm run bench -- polling (BENCH_QUICK=1: shorter runs).
 *
 * The server is a raw Modbus TCP responder (this file, started with POLLING_BENCH_SERVER set):
 * modbus-serial's ServerTCP adds a timer per request and would be the bottleneck of both sides.
 * The adapter's clock fires every timer at the next turn of the event loop, so it polls
 * back to back, as the bare loop does.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createModbusAdapter } from '../src/adapters/modbus/adapter.js';
import { ModbusClient } from '../src/adapters/modbus/link.js';
import { planReads, type ReadPlan } from '../src/adapters/modbus/plan.js';
import { span } from '../src/adapters/modbus/decode.js';
import { listSignals } from '../src/adapters/signals.js';
import type { Clock } from '../src/core/clock.js';
import { deviceSchema, type DeviceOf } from '../src/config/schema.js';

type Device = DeviceOf<'modbus-tcp'>;

/** Answers FC 1–4 with a pattern that changes per request; every other function with exception 1. */
async function serve(connections: number): Promise<void> {
  let tick = 0;
  const answer = (socket: Socket, frame: Buffer) => {
    const fc = frame[7];
    const start = frame.readUInt16BE(8);
    const count = frame.readUInt16BE(10);
    let pdu: Buffer;
    if (fc === 3 || fc === 4) {
      pdu = Buffer.alloc(2 + count * 2);
      pdu[0] = fc;
      pdu[1] = count * 2;
      tick = (tick + 1) & 0x7fff;
      for (let i = 0; i < count; i++) pdu.writeUInt16BE((start + i + tick) & 0xffff, 2 + i * 2);
    } else if (fc === 1 || fc === 2) {
      const bytes = Math.ceil(count / 8);
      pdu = Buffer.alloc(2 + bytes, 0x55);
      pdu[0] = fc;
      pdu[1] = bytes;
    } else {
      pdu = Buffer.from([fc | 0x80, 1]);
    }
    const head = Buffer.alloc(7);
    frame.copy(head, 0, 0, 4); // transaction and protocol id
    head.writeUInt16BE(pdu.length + 1, 4);
    head[6] = frame[6];
    socket.write(Buffer.concat([head, pdu]));
  };
  const ports: number[] = [];
  for (let n = 0; n < connections; n++) {
    const server = createServer((socket) => {
      let pending = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
          const size = 6 + pending.readUInt16BE(4);
          answer(socket, pending.subarray(0, size));
          pending = pending.subarray(size);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  process.send?.(ports);
}

interface Layout {
  name: string;
  /** One device per connection. */
  devices: Device[];
}

/** A press line PLC: per machine a 32-bit count, two waste counters, run bit, stop reason, three float parameters. */
function typicalMachines(n: number, stride: number) {
  return Array.from({ length: n }, (_, i) => {
    const at = i * stride;
    return {
      code: `M${i}`,
      count: { area: 'holding', address: at, type: 'uint32' },
      waste: [
        { code: 'W1', source: { area: 'holding', address: at + 2 } },
        { code: 'W2', source: { area: 'holding', address: at + 3 } },
      ],
      running: { area: 'coil', address: i },
      stopReason: { source: { area: 'holding', address: at + 4 }, map: { 1: 'Jam' } },
      downtimeType: 'Unplanned',
      parameters: [0, 1, 2].map((k) => ({ code: `p${k}`, source: { area: 'input', address: at + k * 2, type: 'float32' } })),
    };
  });
}

/** Many values per machine, packed: what a line controller exporting everything looks like. */
function wideMachines(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const at = i * 60;
    return {
      code: `W${i}`,
      count: { area: 'holding', address: at, type: 'uint32', wordOrder: 'little' },
      waste: Array.from({ length: 8 }, (_, k) => ({ code: `W${k}`, source: { area: 'holding', address: at + 2 + k * 2, type: 'uint32' } })),
      downtimeType: 'Unplanned',
      parameters: Array.from({ length: 20 }, (_, k) => ({
        code: `p${k}`,
        source: { area: 'holding', address: at + 20 + k * 2, type: k % 2 ? 'float32' : 'int32' },
      })),
    };
  });
}

function device(name: string, port: number, machines: unknown[], maxGap = 8): Device {
  return deviceSchema.parse({ device: name, protocol: 'modbus-tcp', connection: { host: '127.0.0.1', port, maxGap }, machines }) as Device;
}

function registersPerPoll(plan: ReadPlan): number {
  return plan.blocks.reduce((n, b) => n + b.signals.reduce((m, s) => m + span(s.source), 0), 0);
}

/** Every timer at the next turn of the event loop: polls back to back. */
const eager: Clock = {
  now: () => Date.now(),
  setTimeout: (fn) => setImmediate(fn),
  clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
};

interface Rate {
  /** Registers per second of wall time. */
  wall: number;
  /** Registers per CPU second of this process: what polling costs, less coloured by other load on the machine. */
  cpu: number;
}

/** After a 100 ms settle (connected, polling), counts what `registers` gains over `ms`. */
async function measure(registers: () => number, ms: number): Promise<Rate> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const from = registers();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const done = registers() - from;
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - t0;
  return { wall: done / (elapsed / 1000), cpu: done / ((cpu.user + cpu.system) / 1e6) };
}

/** Registers per second through createModbusAdapter, all devices at once, for `ms`. */
async function throughAdapter(devices: Device[], ms: number): Promise<Rate> {
  let registers = 0;
  const logger = pino({ level: 'silent' });
  const adapters = devices.map((d) => {
    const perPoll = registersPerPoll(planReads(listSignals(d) as Parameters<typeof planReads>[0], d.connection.maxGap));
    return createModbusAdapter(d, {
      sink: {
        readings: () => {
          registers += perPoll;
        },
        signalError: (_m, _s, message) => {
          throw new Error(`bench layout is wrong: ${message}`);
        },
        connection: () => undefined,
      },
      logger,
      clock: eager,
      random: Math.random,
      stateDir: '/nonexistent',
    });
  });
  await Promise.all(adapters.map((a) => a.start()));
  const rate = await measure(() => registers, ms);
  await Promise.all(adapters.map((a) => a.stop()));
  return rate;
}

/** The same requests through bare modbus-serial clients, one loop per connection, words kept as they come. */
async function bare(devices: Device[], ms: number): Promise<Rate> {
  let registers = 0;
  let stop = false;
  const loops = devices.map(async (d) => {
    const plan = planReads(listSignals(d) as Parameters<typeof planReads>[0], d.connection.maxGap);
    const perPoll = registersPerPoll(plan);
    const client = new ModbusClient();
    await client.connectTCP('127.0.0.1', { port: d.connection.port });
    client.setID(1);
    client.setTimeout(1000);
    const kept: unknown[] = [];
    while (!stop) {
      for (const b of plan.blocks) {
        if (b.area === 'holding') kept.push((await client.readHoldingRegisters(b.start, b.count)).data);
        else if (b.area === 'input') kept.push((await client.readInputRegisters(b.start, b.count)).data);
        else if (b.area === 'coil') kept.push((await client.readCoils(b.start, b.count)).data);
        else kept.push((await client.readDiscreteInputs(b.start, b.count)).data);
      }
      kept.length = 0;
      registers += perPoll;
    }
    await new Promise<void>((resolve) => client.close(() => resolve()));
  });
  const rate = await measure(() => registers, ms);
  stop = true;
  await Promise.all(loops);
  return rate;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const k = (n: number) => `${(n / 1000).toFixed(1)}k`;

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const runs = quick ? 5 : 9;
  const ms = quick ? 300 : 1000;
  // The server binds port 0 itself and says which ports it got: no race for a free port.
  const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, POLLING_BENCH_SERVER: '8' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ports = await new Promise<number[]>((resolve) => server.once('message', (m) => resolve(m as number[])));
  const layouts: Layout[] = [
    { name: 'typical PLC: 10 machines, 1 connection', devices: [device('typical', ports[0], typicalMachines(10, 8))] },
    { name: 'wide: 8 × 6 machines × 29 values, 8 connections', devices: ports.map((p, i) => device(`wide${i}`, p, wideMachines(6))) },
    { name: 'sparse: 10 machines, blocks 15 apart, 1 connection', devices: [device('sparse', ports[0], typicalMachines(10, 20))] },
  ];
  try {
    console.log(
      `${runs} runs of ${ms} ms per side, alternating; registers decoded per wall second and per CPU second of the polling process (min / median / max)`,
    );
    console.log(
      `${'layout'.padEnd(50)} ${'req/poll'.padStart(8)} ${'regs/poll'.padStart(9)}  per  ${'adapter'.padEnd(24)} ${'bare modbus-serial'.padEnd(24)} adapter/bare: of medians (min–max per run)`,
    );
    for (const layout of layouts) {
      const plans = layout.devices.map((d) => planReads(listSignals(d) as Parameters<typeof planReads>[0], d.connection.maxGap));
      const requests = plans.reduce((n, p) => n + p.blocks.length, 0);
      const regs = plans.reduce((n, p) => n + registersPerPoll(p), 0);
      // A first round unmeasured: both sides compiled before they are timed.
      await throughAdapter(layout.devices, ms);
      await bare(layout.devices, ms);
      const a: Rate[] = [];
      const b: Rate[] = [];
      for (let i = 0; i < runs; i++) {
        a.push(await throughAdapter(layout.devices, ms));
        b.push(await bare(layout.devices, ms));
      }
      for (const per of ['wall', 'cpu'] as const) {
        const sa = stats(a.map((r) => r[per]));
        const sb = stats(b.map((r) => r[per]));
        const perRun = stats(a.map((r, i) => r[per] / b[i][per]));
        const cell = (s: ReturnType<typeof stats>) => `${k(s.min)} / ${k(s.median)} / ${k(s.max)}`.padEnd(24);
        const head = per === 'wall' ? `${layout.name.padEnd(50)} ${String(requests).padStart(8)} ${String(regs).padStart(9)}` : ''.padEnd(69);
        console.log(
          `${head}  ${per.padEnd(4)} ${cell(sa)} ${cell(sb)} ${(sa.median / sb.median).toFixed(2)}× (${perRun.min.toFixed(2)}–${perRun.max.toFixed(2)})`,
        );
      }
    }
  } finally {
    server.kill();
  }
}

if (process.env.POLLING_BENCH_SERVER) await serve(Number(process.env.POLLING_BENCH_SERVER));
else await main();
