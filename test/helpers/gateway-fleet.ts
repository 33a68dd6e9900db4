/**
 * Several real gateway processes of one company sharing one budget on one real redis-server,
 * against ONE MES sandbox (the company's 120/min): each gateway with its own state dir, its
 * own pymodbus PLC (test/helpers/fault-plant.ts, machine codes prefixed by the gateway's
 * letter) and its own TCP link to Redis (test/helpers/tcp-link.ts), which a test silences
 * (Redis partitioned from that gateway only) or slows (1 s answers). The Redis password is
 * given as `${REDIS_PASSWORD}`, as the README asks, so a test can check it is never shown.
 */
import { join } from 'node:path';
import type { GatewayStatus, SharedBudgetStatus } from '../../src/core/status.js';
import { startMesSandbox, type MesSandbox } from '../../src/sim/mes-sandbox.js';
import type { Closer } from './cleanup.js';
import { writeConfig, type TestConfig } from './config-files.js';
import { runStopProblems } from './fault-checks.js';
import { startPlant, WASTE, type Plant } from './fault-plant.js';
import { startGateway, statusUrl, type GatewayProcess } from './gateway-process.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { startSilentLink, type SilentLink } from './tcp-link.js';
import { eventually } from './wait.js';
import { healthOf } from './web-server.js';

export const REDIS_PASSWORD = 'fleet-redis-secret-7f3a';
const KEY = 'acme';

export interface FleetGateway {
  /** A, B, C, ...: the prefix of its machine codes. */
  name: string;
  plant: Plant;
  cfg: TestConfig;
  /** Between this gateway and Redis only. */
  link: SilentLink;
  /** `prodsmart.requestsPerMinute`: its share while Redis is out of reach. */
  fallbackPerMinute: number;
  /** The running process; undefined while it is killed. */
  process: GatewayProcess | undefined;
  /** Starts the gateway (again, on the same database); resolves once it runs. */
  start(): Promise<void>;
  /** SIGKILL: it dies holding whatever demand it had. */
  kill(): Promise<void>;
  status(): Promise<GatewayStatus>;
  health(): Promise<{ status: number; body: string }>;
}

export interface Fleet {
  redis: RedisServer;
  mes: MesSandbox;
  gateways: FleetGateway[];
  /** The company figure of `sharedBudget.requestsPerMinute`. */
  companyPerMinute: number;
  /** Writes every PLC's values (see Plant.flush). */
  flush(): Promise<void>;
  /** Every machine of every gateway whose MES total differs from its PLC; empty when exact. */
  differences(): string[];
  /** Run/stop the MES recorded twice or that no PLC made (fault-checks.ts); empty when right. */
  runStopProblems(): string[];
  /** The MES requests (arrival order) that were for this gateway's machines. */
  requestsOf(g: FleetGateway): MesSandbox['requests'];
  /** Resolves once each of `gateways` (default all) shows `state` in /api/status (`budget.shared.state`). */
  waitState(state: SharedBudgetStatus['state'], gateways?: FleetGateway[]): Promise<void>;
  /** Starts every machine counting (see Production); stop it before checking totals. */
  produce(o: ProductionOptions): Production;
}

/**
 * Every round, every machine counts 1 to 3 parts and now and then a waste part, and (unless
 * `stops: false`) one machine of each gateway changes run/stop every STOP_ROUNDS rounds: all
 * machines always have counts waiting, as in issue 10's "N machines all changing". Bounded by `maxRounds`.
 */
interface ProductionOptions {
  everyMs: number;
  maxRounds: number;
  /** false: counts and waste only, so every request is a counter (the freshness bench). Default true. */
  stops?: boolean;
}

export interface Production {
  /** Resolves once the current round is written; the PLCs keep their last values. */
  stop(): Promise<void>;
  /** Per machine code, each count the PLC had and since when (test-process time), oldest first. */
  counts: Map<string, { at: number; count: number }[]>;
}

const STOP_ROUNDS = 30;

export interface FleetOptions {
  /** A folder of its own for each gateway's config and database is made in here. */
  dir: string;
  /** Machines per gateway, e.g. [10, 20, 40]. */
  machines: number[];
  /** Fallback share per gateway (`prodsmart.requestsPerMinute`). */
  fallbackPerMinute: number[];
  companyPerMinute: number;
  /** false: the gateways are not started (the test starts them, e.g. after Redis). */
  start?: boolean;
  /** false: Redis is not running when the gateways start; the test calls `redis.restart()`. */
  redisUp?: boolean;
  pollIntervalMs?: number;
  /** false: no `sharedBudget` in the config, each gateway on its own `requestsPerMinute` (a baseline). */
  shared?: boolean;
  defer: (close: Closer) => void;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const redis = await startRedisServer({ password: REDIS_PASSWORD });
  o.defer(() => redis.cleanup());
  if (o.redisUp === false) await redis.stop();
  const names = o.machines.map((_, i) => String.fromCharCode(65 + i));
  const plants = await Promise.all(
    o.machines.map((n, i) => startPlant({ machines: n, perDevice: 10, pollIntervalMs: o.pollIntervalMs ?? 500, prefix: names[i] })),
  );
  for (const p of plants) o.defer(() => p.kill());
  const mes = await startMesSandbox({
    credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
    machines: Object.assign({}, ...plants.map((p) => p.sandboxMachines())),
  });
  o.defer(() => mes.close());

  const gateways: FleetGateway[] = [];
  for (const [i, plant] of plants.entries()) {
    const link = await startSilentLink(redis.port);
    o.defer(() => link.close());
    const cfg = writeConfig(join(o.dir, names[i]), {
      mesUrl: mes.url,
      devices: plant.devices(),
      requestsPerMinute: o.fallbackPerMinute[i],
      logLevel: 'info',
      sharedBudget:
        o.shared === false ? undefined : { redis: `redis://:\${REDIS_PASSWORD}@127.0.0.1:${link.port}`, key: KEY, requestsPerMinute: o.companyPerMinute },
    });
    const g: FleetGateway = {
      name: names[i],
      plant,
      cfg,
      link,
      fallbackPerMinute: o.fallbackPerMinute[i],
      process: undefined,
      async start() {
        const gw = startGateway(cfg.gatewayFile, { REDIS_PASSWORD });
        g.process = gw;
        await gw.waitForLog((l) => l.event === 'gateway.started', 30_000);
      },
      async kill() {
        await g.process?.kill('SIGKILL');
        g.process = undefined;
      },
      async status() {
        return (await (await fetch(`${await base(g)}/api/status`)).json()) as GatewayStatus;
      },
      async health() {
        return healthOf(await base(g))();
      },
    };
    o.defer(() => g.process?.kill('SIGKILL'));
    gateways.push(g);
  }
  if (o.start !== false) await Promise.all(gateways.map((g) => g.start()));

  return {
    redis,
    mes,
    gateways,
    companyPerMinute: o.companyPerMinute,
    flush: async () => {
      await Promise.all(plants.map((p) => p.flush()));
    },
    differences: () => plants.flatMap((p) => p.differences(mes.state)),
    runStopProblems: () => plants.flatMap((p) => p.machines.flatMap((m) => runStopProblems(m.code, mes.state[m.code].startstop, m.transitions))),
    requestsOf: (g) => mes.requests.filter((r) => r.path.startsWith(`/api/machines/${g.name}`)),
    produce: (p) => produce(plants, p),
    waitState: async (state, some = gateways) => {
      await eventually(
        () => Promise.all(some.map(async (g) => (await g.status()).budget.shared?.state)),
        (s) => s.every((x) => x === state),
        30_000,
        `gateways ${some.map((g) => g.name).join(', ')} ${state}`,
      );
    },
  };
}

function produce(plants: Plant[], o: ProductionOptions): Production {
  const counts = new Map(plants.flatMap((p) => p.machines.map((m) => [m.code, [] as { at: number; count: number }[]])));
  let producing = true;
  const loop = (async () => {
    for (let round = 0; producing && round < o.maxRounds; round++) {
      for (const p of plants) {
        for (const [i, m] of p.machines.entries()) {
          m.count += 1 + ((round + i) % 3);
          if ((round + i) % 7 === 0) m.waste[WASTE[(round + i) % 2]] += 1;
        }
        if (o.stops !== false && round % STOP_ROUNDS === STOP_ROUNDS - 1) {
          const m = p.machines[Math.floor(round / STOP_ROUNDS) % p.machines.length];
          m.running = !m.running;
        }
      }
      await Promise.all(plants.map((p) => p.flush()));
      const at = Date.now();
      for (const p of plants) for (const m of p.machines) counts.get(m.code)!.push({ at, count: m.count });
      await new Promise((r) => setTimeout(r, o.everyMs));
    }
  })();
  return {
    counts,
    async stop() {
      producing = false;
      await loop;
    },
  };
}

async function base(g: FleetGateway): Promise<string> {
  if (!g.process) throw new Error(`gateway ${g.name} is not running`);
  return statusUrl(g.process);
}
