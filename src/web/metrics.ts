/**
 * GET /metrics: every shopfloor_ metric is computed from one provider.status() snapshot taken at
 * scrape time, so the gateway keeps no metric state of its own and all samples of a scrape agree.
 * Counters mirror the cumulative numbers of GatewayStatus; a restart resets them, which
 * Prometheus' rate() handles.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { healthProblems } from './health.js';
import type { GatewayStatus, StatusProvider } from '../core/status.js';

type Labels = Record<string, string>;
type Sample = [Labels, number];
const FALLBACK_STEPS = ['share', 'trickle', 'stopped'] as const;

export interface Metrics {
  /** Add the gateway's own prom-client metrics here if it has any. */
  registry: Registry;
  contentType: string;
  render(): Promise<string>;
}

export function createMetrics(provider: StatusProvider): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let snapshot: GatewayStatus | undefined;
  const current = () => snapshot ?? provider.status();

  const define = (type: 'counter' | 'gauge', name: string, help: string, labelNames: string[], samples: (s: GatewayStatus) => Sample[]) => {
    const collect = function (this: Counter | Gauge) {
      this.reset();
      const list = samples(current());
      // Without labels reset() leaves a 0 sample; an unknown value must be absent, not 0.
      if (labelNames.length === 0 && list.length === 0) this.remove();
      for (const [labels, value] of list) {
        if (this instanceof Counter) this.inc(labels, value);
        else this.set(labels, value);
      }
    };
    const config = { name, help, labelNames, registers: [registry], collect };
    if (type === 'counter') new Counter(config);
    else new Gauge(config);
  };
  const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [[{}, value]]);
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const bit = (b: boolean | null | undefined) => (b === null || b === undefined ? undefined : b ? 1 : 0);

  define('gauge', 'shopfloor_gateway_info', 'Gateway version (value is always 1)', ['version'], (s) => [[{ version: s.version }, 1]]);
  define('gauge', 'shopfloor_healthy', '1 when GET /healthz answers 200', [], (s) => one(healthProblems(s).length === 0 ? 1 : 0));
  define('gauge', 'shopfloor_config_errors', 'Errors of the last configuration reload (the previous configuration keeps running)', [], (s) =>
    one(s.config.errors.length),
  );

  define('counter', 'shopfloor_mes_requests_total', 'Requests to the MES by endpoint and HTTP status (status 0: no answer)', ['endpoint', 'status'], (s) =>
    Object.entries(s.stats.requests).map(([key, n]) => {
      const cut = key.lastIndexOf(' ');
      return [{ endpoint: key.slice(0, cut), status: key.slice(cut + 1) }, n];
    }),
  );
  define('counter', 'shopfloor_mes_rate_limited_total', 'MES answers 429 Too Many Requests', [], (s) => one(s.stats.rateLimited));
  define('gauge', 'shopfloor_mes_reachable', '1 when the last MES request got an answer, 0 when it failed; absent before the first', [], (s) =>
    one(bit(s.mes.reachable)),
  );
  define('gauge', 'shopfloor_mes_auth_problem', '1 when the MES refused the credentials and sending stopped', [], (s) => one(s.mes.authProblem ? 1 : 0));
  define('gauge', 'shopfloor_mes_paused', '1 while sending is paused (Retry-After or backoff)', [], (s) => one((s.mes.pausedUntil ?? 0) > s.now ? 1 : 0));
  define('gauge', 'shopfloor_mes_last_ok_timestamp_seconds', 'Time of the last 2xx answer of the MES', [], (s) => one(seconds(s.mes.lastOkAt)));
  define('gauge', 'shopfloor_rate_budget_used', 'MES requests sent in the last minute', [], (s) => one(s.budget.usedLastMinute));
  define('gauge', 'shopfloor_rate_budget_limit', 'MES requests allowed per minute (prodsmart.requestsPerMinute)', [], (s) => one(s.budget.perMinute));

  const shared = (s: GatewayStatus, value: (b: NonNullable<GatewayStatus['budget']['shared']>) => number | undefined) =>
    one(s.budget.shared && value(s.budget.shared));
  define(
    'gauge',
    'shopfloor_shared_budget_fallback',
    '1 while on the fallback share (Redis unavailable), 0 on the company budget; absent without sharedBudget',
    [],
    (s) => shared(s, (b) => (b.state === 'shared' ? 0 : 1)),
  );
  define(
    'gauge',
    'shopfloor_shared_budget_fallback_step',
    'On the fallback share, 1 for its step: share (its fallback share), trickle (1/min) or stopped (nothing sent); absent on the company budget',
    ['step'],
    (s) => {
      const step = s.budget.shared?.state === 'fallback' ? s.budget.shared.fallbackStep : undefined;
      return step ? FALLBACK_STEPS.map((name) => [{ step: name }, name === step ? 1 : 0]) : [];
    },
  );
  define('gauge', 'shopfloor_shared_budget_company_used', 'MES requests of all gateways in the last minute, as Redis last said', [], (s) =>
    shared(s, (b) => b.companyUsedLastMinute),
  );
  define('gauge', 'shopfloor_shared_budget_company_limit', 'The company figure less the fallback shares kept for lapsed gateways', [], (s) =>
    shared(s, (b) => b.companyLimit),
  );
  define(
    'gauge',
    'shopfloor_shared_budget_reserved',
    'Requests per minute kept out of the company figure for gateways not heard from (cut off or crashed: each its fallback share for up to 15 min, then 1 for up to 7 days)',
    [],
    (s) => shared(s, (b) => b.reservedPerMinute),
  );
  define(
    'gauge',
    'shopfloor_shared_budget_fallback_shares',
    'The fallback shares of every gateway on the company budget, summed: what they may send together with Redis gone for all (keep it within the company figure)',
    [],
    (s) => shared(s, (b) => b.fallbackSharesPerMinute),
  );
  define('gauge', 'shopfloor_shared_budget_gateways', 'Gateways taking part in the company budget', [], (s) => shared(s, (b) => b.gateways));
  define('gauge', 'shopfloor_shared_budget_share', "This gateway's requests per minute now: its share by demand, or its fallback share", [], (s) =>
    shared(s, (b) => b.sharePerMinute),
  );

  define('gauge', 'shopfloor_outbox_pending', 'Items waiting in the outbox', [], (s) => one(s.outbox.pending));
  define('gauge', 'shopfloor_outbox_oldest_pending_age_seconds', 'Age of the oldest pending item; absent when none is pending', [], (s) =>
    one(s.outbox.pending > 0 ? seconds(s.now - (s.outbox.oldestPendingAt ?? s.now)) : undefined),
  );
  define('gauge', 'shopfloor_dead_letters', 'Items the MES refused (400), waiting for retry or drop', [], (s) => one(s.outbox.deadLetters));
  define('counter', 'shopfloor_delivered_parts_total', 'Parts accepted by the MES since start', ['machine'], (s) =>
    Object.entries(s.stats.deliveredParts).map(([machine, n]) => [{ machine }, n]),
  );
  define('counter', 'shopfloor_delivered_waste_total', 'Waste accepted by the MES since start', ['machine', 'code'], (s) =>
    Object.entries(s.stats.deliveredWaste).map(([key, n]) => [splitMachineKey(key, s), n]),
  );

  define('gauge', 'shopfloor_device_up', '1 when the device connection is up', ['device', 'protocol'], (s) =>
    s.devices.map((d) => [{ device: d.id, protocol: d.protocol }, d.state === 'connected' ? 1 : 0]),
  );
  define('gauge', 'shopfloor_device_last_good_read_timestamp_seconds', 'Time of the last good read of the device', ['device'], (s) =>
    s.devices.flatMap((d): Sample[] => (d.lastGoodReadAt === undefined ? [] : [[{ device: d.id }, d.lastGoodReadAt / 1000]])),
  );
  define('counter', 'shopfloor_signal_read_errors_total', 'Failed reads and bad values per signal', ['device', 'machine', 'signal'], (s) =>
    s.devices.flatMap((d) => d.signalErrors.map((e): Sample => [{ device: d.id, machine: e.machine, signal: e.signal }, e.count])),
  );

  define('gauge', 'shopfloor_machine_running', '1 running, 0 stopped; absent while unknown', ['machine'], (s) =>
    s.machines.flatMap((m): Sample[] => (m.run.running === null ? [] : [[{ machine: m.code }, m.run.running ? 1 : 0]])),
  );
  define('counter', 'shopfloor_machine_count_total', 'Guarded good-parts total of the machine (the value the MES receives)', ['machine'], (s) =>
    s.machines.flatMap((m): Sample[] => (m.totals.count ? [[{ machine: m.code }, m.totals.count.total]] : [])),
  );
  define('counter', 'shopfloor_machine_waste_total', 'Guarded waste total of the machine per waste code', ['machine', 'code'], (s) =>
    s.machines.flatMap((m) =>
      Object.entries(m.totals)
        .filter(([key]) => key.startsWith('waste:'))
        .map(([key, t]): Sample => [{ machine: m.code, code: key.slice('waste:'.length) }, t.total]),
    ),
  );
  define('gauge', 'shopfloor_machine_pending', 'Outbox items pending for the machine', ['machine'], (s) =>
    s.machines.map((m) => [{ machine: m.code }, m.pending]),
  );

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      snapshot = provider.status();
      try {
        return await registry.metrics();
      } finally {
        snapshot = undefined;
      }
    },
  };
}

/** `${machine} ${code}` keys: machine codes may hold spaces, so match the known machines first. */
function splitMachineKey(key: string, s: GatewayStatus): Labels {
  const cut = key.indexOf(' ');
  const machine = s.machines.find((m) => key.startsWith(`${m.code} `))?.code ?? (cut < 0 ? key : key.slice(0, cut));
  return { machine, code: key.slice(machine.length + 1) };
}
