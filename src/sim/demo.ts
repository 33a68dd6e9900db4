/**
 * The demo world of a configuration: an MES sandbox that knows the configured machine
 * codes, waste codes and downtime types, and a simulated PLC for every Modbus TCP device
 * on a loopback host. Used by `run` when gateway.yaml has a `simulate:` block, and by
 * the `simulate` verb.
 */
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import type { DeviceOf } from '../config/schema.js';
import { startMesSandbox, type MesSandbox } from './mes-sandbox.js';
import { startModbusPlcSim } from './modbus-plc.js';

export interface DemoWorld {
  mes?: MesSandbox;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** Machine codes, waste codes and downtime types the sandbox should accept. */
export function sandboxMachines(config: LoadedConfig): Record<string, { waste: string[]; downtimeTypes: string[] }> {
  const out: Record<string, { waste: string[]; downtimeTypes: string[] }> = {};
  for (const d of config.devices) {
    for (const m of d.config.machines) {
      const types = new Set<string>(Object.values(m.stopReason?.map ?? {}));
      if (m.stopReason?.default) types.add(m.stopReason.default);
      if (m.downtimeType) types.add(m.downtimeType);
      out[m.code] = { waste: m.waste.map((w) => w.code), downtimeTypes: [...types] };
    }
  }
  return out;
}

/**
 * Counts since midnight at 80 parts and 4 scrap a minute: more than a simulated machine
 * makes (at most 70 and 3), so after a restart the counters are above where they stopped.
 */
function timeOfDayCounts(): { count: number; waste: number } {
  const now = new Date();
  const seconds = (now.getTime() - new Date(now).setHours(0, 0, 0, 0)) / 1000;
  return { count: (seconds * 80) / 60, waste: (seconds * 4) / 60 };
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

export async function startDemoWorld(config: LoadedConfig, logger: Logger, opts: { mes: boolean; plcs: boolean; mesListen: string }): Promise<DemoWorld> {
  const closers: (() => Promise<void> | void)[] = [];
  let mes: MesSandbox | undefined;
  try {
    if (opts.mes) {
      const auth = config.gateway.prodsmart.auth;
      const { host, port } = splitListen(opts.mesListen);
      mes = await startMesSandbox({
        host,
        port,
        credentials: { apiKey: auth.apiKey ?? 'demo', apiSecret: auth.apiSecret ?? 'demo-secret' },
        machines: sandboxMachines(config),
      });
      closers.push(() => mes!.close());
      logger.info({ url: mes.url }, 'MES sandbox listening');
    }
    if (opts.plcs) {
      for (const d of config.devices) {
        if (d.config.protocol !== 'modbus-tcp' || !LOOPBACK.test(d.config.connection.host)) continue;
        const device = d.config as DeviceOf<'modbus-tcp'>;
        const sim = await startModbusPlcSim({ host: device.connection.host, port: device.connection.port, device, startCounts: timeOfDayCounts });
        closers.push(() => sim.close());
        logger.info({ device: device.device, port: device.connection.port }, 'simulated Modbus PLC listening');
      }
    }
  } catch (err) {
    for (const c of closers.reverse()) await c();
    throw err;
  }
  return {
    mes,
    async close() {
      for (const c of closers.reverse()) await c();
    },
  };
}
