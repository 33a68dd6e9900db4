/**
 * A simulated OPC UA PLC for an opcua device of the configuration (demo and `simulate`):
 * serves each signal's node, as long as the device uses the simulator's own namespace
 * (`ns=1;s=<name>`), and moves the values once a second like a running line.
 */
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import type { DeviceOf } from '../config/schema.js';
import { listSignals } from '../adapters/signals.js';
import { startOpcuaSim, type OpcuaSim, type SimNode, type SimNodeType } from './opcua-server.js';

const OWN_NODE = /^ns=1;s=(.+)$/;
const TYPE: Record<string, SimNodeType> = { count: 'UInt32', waste: 'UInt32', running: 'Boolean', stopReason: 'UInt16', parameter: 'Double' };

/** The node names to serve, or the node ids the simulator cannot serve. */
export function simulatedNodes(device: DeviceOf<'opcua'>): { nodes: SimNode[]; foreign: string[] } {
  const nodes = new Map<string, SimNode>();
  const foreign: string[] = [];
  for (const s of listSignals(device)) {
    const name = OWN_NODE.exec(s.source.nodeId)?.[1];
    if (name === undefined) foreign.push(s.source.nodeId);
    // In a folder tree, as a PLC's address space is, for commissioning's browse.
    else
      nodes.set(name, {
        name,
        type: TYPE[s.kind],
        value: s.kind === 'running' ? true : s.kind === 'parameter' ? 20 : 0,
        folder: `Plant/${device.device}/${s.machine}`,
      });
  }
  return { nodes: [...nodes.values()], foreign };
}

export async function startOpcuaLineSim(opts: { device: DeviceOf<'opcua'>; port: number; stateDir: string; clock?: Clock }): Promise<OpcuaSim> {
  const { device } = opts;
  const clock = opts.clock ?? systemClock;
  const { nodes } = simulatedNodes(device);
  const sim = await startOpcuaSim({ port: opts.port, pkiDir: join(opts.stateDir, 'pki'), nodes });
  const signals = listSignals(device).map((s) => ({ ...s, name: OWN_NODE.exec(s.source.nodeId)?.[1] }));
  let step = 0;
  let timer: unknown;
  const tick = () => {
    step++;
    // Runs 50 s, stops 10 s, a part a second, a scrap every 20 parts.
    const running = step % 60 < 50;
    for (const s of signals) {
      if (s.name === undefined) continue;
      if (s.kind === 'running') sim.set(s.name, running);
      else if (s.kind === 'stopReason')
        sim.set(s.name, running ? 0 : Number(Object.keys(device.machines.find((m) => m.code === s.machine)?.stopReason?.map ?? {})[0] ?? 1));
      else if (s.kind === 'count' && running) sim.increment(s.name);
      else if (s.kind === 'waste' && running && step % 20 === 0) sim.increment(s.name);
      else if (s.kind === 'parameter') sim.set(s.name, Math.round((20 + 5 * Math.sin(step / 15)) * 10) / 10);
    }
    timer = clock.setTimeout(tick, 1000);
  };
  timer = clock.setTimeout(tick, 1000);
  return {
    ...sim,
    get endpointUrl() {
      return sim.endpointUrl;
    },
    get port() {
      return sim.port;
    },
    async close() {
      clock.clearTimeout(timer);
      await sim.close();
    },
  };
}
