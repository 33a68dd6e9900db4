/**
 * The MES request bodies (docs/mes-api.md), built from the outbox's values: the uploader
 * sends them, commissioning shows them for a mapping (src/gateway/commission-preview.ts).
 */
import type { SignalValue } from '../core/values.js';
import type { CounterBody, ParametersBody, StartStopBody } from './mes-client.js';

/** `values`: 'count' and 'waste:<code>' totals; `params` ride along on the counter endpoint, named by `name`. */
export function counterBody(values: readonly { signal: string; total: number }[], params: readonly { code: string; value: SignalValue }[]): CounterBody {
  const count = values.find((v) => v.signal === 'count');
  const waste = values.filter((v) => v.signal.startsWith('waste:')).map((v) => ({ code: v.signal.slice(6), quantity: v.total }));
  return {
    ...(count ? { count: count.total } : {}),
    ...(waste.length ? { waste } : {}),
    ...(params.length ? { parameters: params.map((p) => ({ name: p.code, value: p.value })) } : {}),
  };
}

/** The parameters endpoint names them by `code`. */
export function parametersBody(params: readonly { code: string; value: SignalValue }[]): ParametersBody {
  return { parameters: params.map((p) => ({ code: p.code, value: p.value })) };
}

export function startStopBody(item: { type: string; running: 0 | 1 }): StartStopBody {
  return { type: item.type, running: item.running };
}

/** Where a machine's request goes, below the MES's base URL. */
export function machinePath(machine: string, endpoint: 'counter' | 'parameters' | 'startstop'): string {
  return `/api/machines/${encodeURIComponent(machine)}/${endpoint}`;
}
