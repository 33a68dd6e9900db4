/**
 * The demo world of a configuration: an MES sandbox that knows the configured machine
 * codes, waste codes and downtime types, a simulated PLC for every Modbus TCP and OPC UA
 * device on a loopback address, and simulated sensors publishing for every MQTT device
 * whose broker is on loopback (the broker itself, e.g. mosquitto, is not simulated). Used by
 * `run` when gateway.yaml has a `simulate:` block, and by the `simulate` verb.
 */
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import type { DeviceOf } from '../config/schema.js';
import { startMesSandbox, type MesSandbox } from './mes-sandbox.js';
import { startModbusPlcSim } from './modbus-plc.js';
import { isLoopback, parseListen } from '../core/net.js';
import { deviceStateDir } from '../adapters/state-dir.js';
import { safeUrl } from '../adapters/mqtt/options.js';

export interface DemoWorld {
  mes?: MesSandbox;
  close(): Promise<void>;
}

/** Machine codes, waste codes and downtime types the sandbox should accept. */
function sandboxMachines(config: LoadedConfig): Record<string, { waste: string[]; downtimeTypes: string[] }> {
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

/** Host (without IPv6 brackets) and port of an opc.tcp:// or mqtt:// URL. */
function urlOf(url: string): { host: string; port?: number } {
  const u = new URL(url.replace(/^[a-z.]+:/, 'http:'));
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : undefined };
}

async function startOpcua(device: DeviceOf<'opcua'>, config: LoadedConfig, logger: Logger): Promise<() => Promise<void>> {
  // node-opcua is loaded only when a configuration has an OPC UA device to simulate.
  const { startOpcuaLineSim, simulatedNodes } = await import('./opcua-line.js');
  const { foreign } = simulatedNodes(device);
  if (foreign.length > 0) logger.warn({ device: device.device, nodes: foreign }, 'the OPC UA simulator serves only ns=1;s=<name> node ids; these stay unknown');
  const port = urlOf(device.connection.endpointUrl).port ?? 4840;
  const sim = await startOpcuaLineSim({ device, port, stateDir: deviceStateDir(config.gateway, `sim-${device.device}`) });
  logger.info({ device: device.device, endpointUrl: sim.endpointUrl }, 'simulated OPC UA server listening');
  return () => sim.close();
}

/** A real PLC's counter moves when a part is done, not on a one-second beat: its registers change this often. */
const PLC_TICK_MS = 250;

/**
 * Counts since midnight at 80 parts and 4 scrap a minute: more than a simulated machine
 * makes (at most 70 and 3), so after a restart the counters are above where they stopped.
 */
function timeOfDayCounts(): { count: number; waste: number } {
  const now = new Date();
  const seconds = (now.getTime() - new Date(now).setHours(0, 0, 0, 0)) / 1000;
  return { count: (seconds * 80) / 60, waste: (seconds * 4) / 60 };
}

export async function startDemoWorld(config: LoadedConfig, logger: Logger, opts: { mes: boolean; plcs: boolean; mesListen: string }): Promise<DemoWorld> {
  const closers: (() => Promise<void> | void)[] = [];
  let mes: MesSandbox | undefined;
  try {
    if (opts.mes) {
      const auth = config.gateway.prodsmart.auth;
      const { host, port } = parseListen(opts.mesListen);
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
      for (const { config: d } of config.devices) {
        if (d.protocol === 'modbus-tcp' && isLoopback(d.connection.host)) {
          const sim = await startModbusPlcSim({
            host: d.connection.host,
            port: d.connection.port,
            device: d,
            startCounts: timeOfDayCounts,
            tickMs: PLC_TICK_MS,
          });
          closers.push(() => sim.close());
          logger.info({ device: d.device, port: d.connection.port }, 'simulated Modbus PLC listening');
        } else if (d.protocol === 'opcua' && isLoopback(urlOf(d.connection.endpointUrl).host)) {
          closers.push(await startOpcua(d, config, logger));
        } else if (d.protocol === 'mqtt' && isLoopback(urlOf(d.connection.url).host)) {
          const { startMqttSensorSim } = await import('./mqtt-sensor.js');
          const sim = startMqttSensorSim({ device: d, tickMs: 1000 });
          closers.push(() => sim.close());
          logger.info({ device: d.device, broker: safeUrl(d.connection.url) }, 'simulated MQTT sensors publishing (the broker must be running)');
        }
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
