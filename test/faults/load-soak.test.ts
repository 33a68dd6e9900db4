/**
 * Load soak: 200 machines on 20 simulated Modbus TCP PLCs (src/sim/modbus-plc.ts, 10
 * machines each, count and waste), polled every second by the gateway process, delivering
 * to the MES sandbox within the company's rate budget. The simulated machines know what
 * they really made.
 *
 * Short (default, CI): 60 s of production; the gateway's totals must equal what was made,
 * and every count the MES accepted rose and never passed the truth. Draining 200 machines
 * at 100 requests/min takes two more minutes, so that is the long mode's check.
 * Long (`FAULTS_LONG=1`): 10 min of production, then the MES must hold exactly what was
 * made for every machine. The gateway's RSS (/proc/<pid>/status of the gateway process
 * only) is sampled at start, 1, 5 and 10 min and printed as a `SOAK` line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deviceSchema, type DeviceOf } from '../../src/config/schema.js';
import { startMesSandbox } from '../../src/sim/mes-sandbox.js';
import { startModbusPlcSim, type ModbusPlcSim } from '../../src/sim/modbus-plc.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { deferCleanup } from '../helpers/cleanup.js';
import { writeConfig } from '../helpers/config-files.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/wait.js';

const LONG = process.env.FAULTS_LONG === '1';
const DEVICES = 20;
const PER_DEVICE = 10;
const PRODUCE_S = LONG ? 600 : 60;
/** Seconds into production at which RSS is sampled (0 = once every counter was first seen). */
const RSS_AT_S = LONG ? [0, 60, 300, 600] : [0, 30, 60];
const REQUESTS_PER_MINUTE = 100;
const WASTE = 'Scrap';

const machineCode = (d: number, m: number) => `D${d}M${m}`;

function deviceYaml(d: number, port: number): string {
  const machines = Array.from(
    { length: PER_DEVICE },
    (_, m) => `  - code: ${machineCode(d, m)}
    count: { area: holding, address: ${m * 4}, type: uint32 }
    waste:
      - code: ${WASTE}
        source: { area: holding, address: ${m * 4 + 2}, type: uint16 }`,
  );
  return `device: plc${d}
protocol: modbus-tcp
connection: { host: 127.0.0.1, port: ${port}, timeoutMs: 1000 }
pollIntervalMs: 1000
machines:
${machines.join('\n')}
`;
}

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/\d+/)?.[0]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('load soak: 200 machines on 20 Modbus devices at 1 s', () => {
  const dir = tempDir('sfg-soak-');
  const defer = deferCleanup();

  it(
    `${PRODUCE_S} s of production: nothing lost, nothing doubled, RSS sampled`,
    async () => {
      const codes = Array.from({ length: DEVICES }, (_, d) => Array.from({ length: PER_DEVICE }, (_, m) => machineCode(d, m))).flat();
      const mes = await startMesSandbox({
        credentials: { apiKey: 'test-key', apiSecret: 'test-secret' },
        machines: Object.fromEntries(codes.map((c) => [c, { waste: [WASTE] }])),
      });
      defer(() => mes.close());

      const sims: ModbusPlcSim[] = [];
      const devices: Record<string, string> = {};
      let seed = 42;
      const random = () => {
        seed = (seed * 48271) % 2147483647;
        return (seed - 1) / 2147483646;
      };
      for (let d = 0; d < DEVICES; d++) {
        // The simulator takes the device as the gateway reads it (its own port is picked free), to write the same registers.
        const yaml = (port: number) => deviceYaml(d, port);
        const sim = await startModbusPlcSim({
          device: deviceSchema.parse(parse(yaml(502))) as DeviceOf<'modbus-tcp'>,
          tickMs: 0,
          random,
          startCounts: () => ({ count: 0, waste: 0 }),
        });
        defer(() => sim.close());
        sims.push(sim);
        devices[`plc${d}`] = yaml(sim.port);
      }

      const cfg = writeConfig(dir, { mesUrl: mes.url, devices, requestsPerMinute: REQUESTS_PER_MINUTE, logLevel: 'info' });
      const gw: GatewayProcess = startGateway(cfg.gatewayFile);
      defer(() => gw.kill('SIGKILL'));
      const pid = gw.child.pid!;
      // Every counter must have its baseline (0) before the machines start.
      await eventually(
        () => gw.logs.filter((l) => l.event === 'counter.first_seen').length,
        (n) => n === codes.length * 2,
        60_000,
        'every counter first seen',
      );
      const status = new URL('/api/status', String((await gw.waitForLog((l) => l.event === 'web.listening')).url));

      const rss: Record<string, number> = {};
      for (let s = 0; s <= PRODUCE_S; s++) {
        if (RSS_AT_S.includes(s)) rss[`${s}s`] = rssKb(pid);
        if (s === PRODUCE_S) break;
        for (const sim of sims) sim.tick();
        await sleep(1000);
      }
      const made = (code: string) => sims[Number(code.slice(1, code.indexOf('M')))].produced(code);

      // The last values are read within a poll or two; then the gateway's totals are the truth.
      const totals = await eventually(
        async () => (await (await fetch(status)).json()) as { machines: { code: string; totals: Record<string, { total: number }> }[] },
        (st) =>
          st.machines.every((m) => m.totals.count?.total === made(m.code).count && (m.totals[`waste:${WASTE}`]?.total ?? 0) === made(m.code).waste[WASTE]),
        30_000,
        'gateway totals equal to what the machines made',
      );
      expect(totals.machines).toHaveLength(codes.length);

      if (LONG) {
        // 200 final counters at the rate budget: about two minutes.
        await eventually(
          () => codes.filter((c) => mes.state[c].count !== made(c).count || (mes.state[c].waste[WASTE] ?? 0) !== made(c).waste[WASTE]),
          (behind) => behind.length === 0,
          300_000,
          'MES holding what every machine made',
        );
      }
      const parts = codes.reduce((n, c) => n + made(c).count, 0);
      const scrap = codes.reduce((n, c) => n + made(c).waste[WASTE], 0);
      const delivered = codes.reduce((n, c) => n + (mes.state[c].count ?? 0), 0);
      for (const c of codes) {
        const counts = mes.state[c].counterLog.map((e) => e.count).filter((n): n is number => n !== undefined);
        for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
        expect(mes.state[c].count ?? 0).toBeLessThanOrEqual(made(c).count);
      }
      expect(mes.requests.filter((r) => r.status !== 200)).toEqual([]);
      // The busiest 60 s window as the MES saw it (arrival times): within the gateway's budget.
      const times = mes.requests.map((r) => r.at);
      const busiest = Math.max(...times.map((end) => times.filter((t) => t > end - 60_000 && t <= end).length));
      expect(busiest).toBeLessThanOrEqual(REQUESTS_PER_MINUTE);
      console.log(
        `SOAK ${JSON.stringify({ machines: codes.length, devices: DEVICES, produceS: PRODUCE_S, parts, scrap, deliveredParts: delivered, mesRequests: mes.requests.length, busiestMinute: busiest, rssKb: rss })}`,
      );
      if (LONG) expect(delivered).toBe(parts);
    },
    (PRODUCE_S + (LONG ? 420 : 120)) * 1000,
  );
});
