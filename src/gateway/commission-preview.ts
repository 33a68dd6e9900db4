/**
 * The MES bodies a device's mapping would send, for the commissioning preview: built by the
 * uplink's body builders with example values, never sent. Parameters ride on the counter
 * request when both are pending; shown here on their own endpoint, as when only they are.
 */
import type { DeviceConfig } from '../config/schema.js';
import { machineRules } from '../machine/step.js';
import { counterBody, machinePath, parametersBody, startStopBody } from '../uplink/bodies.js';
import type { MesBodyPreview } from '../web/commission/preview.js';

const EXAMPLE_COUNT = 1000;
const EXAMPLE_WASTE = 3;
const EXAMPLE_PARAMETER = 0;

export function previewMesBodies(device: DeviceConfig): MesBodyPreview[] {
  return device.machines.flatMap((m) => {
    const out: MesBodyPreview[] = [];
    const add = (endpoint: MesBodyPreview['endpoint'], body: unknown, note: string) =>
      out.push({ endpoint, machine: m.code, path: machinePath(m.code, endpoint), body, note });
    const totals = [
      ...(m.count ? [{ signal: 'count', total: EXAMPLE_COUNT }] : []),
      ...m.waste.map((w) => ({ signal: `waste:${w.code}`, total: EXAMPLE_WASTE })),
    ];
    if (totals.length > 0) add('counter', counterBody(totals, []), 'example totals: the running totals since the baseline, sent as they rise');
    if (m.parameters.length > 0) {
      add(
        'parameters',
        parametersBody(m.parameters.map((p) => ({ code: p.code, value: EXAMPLE_PARAMETER }))),
        'example values: each sent when it moves past its deadband',
      );
    }
    const runStop = machineRules(m).runStop;
    if (runStop) {
      const { fallbackType, reasonMap, idleType } = runStop.opts;
      for (const [reason, type] of Object.entries(reasonMap)) add('startstop', startStopBody({ type, running: 0 }), `a stop with reason ${reason}`);
      add('startstop', startStopBody({ type: fallbackType, running: 0 }), 'a stop without a known reason');
      if (idleType !== fallbackType) add('startstop', startStopBody({ type: idleType, running: 0 }), 'a stop seen as an idle counter');
      add('startstop', startStopBody({ type: fallbackType, running: 1 }), 'the machine runs again (the type of the stop it ends)');
    }
    return out;
  });
}
