/**
 * More run/stop than the budget holds (docs/rate-budget.md#priorities-and-fairness): 250
 * machines each stopping about once a minute make 500 transitions a minute against a
 * budget of 100. Through the real processor, outbox, scheduler, budget and uploader to the
 * MES sandbox, on one simulated clock: counts and parameters still get through, the queued
 * transitions collapse, nothing is lost and the MES never answers 429.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startUplinkPlant, type UplinkPlant } from '../helpers/uplink-plant.js';

const FLAPPING = 250;
/** Machines that do not count, whose parameters change: they have parameters-only work. */
const OVENS = 5;

describe('uplink with run/stop beyond the budget', () => {
  let plant: UplinkPlant | undefined;
  afterEach(async () => {
    await plant?.close();
  });

  it('250 machines stopping once a minute: counters and parameters-only machines still delivered, transitions collapsed, nothing lost', async () => {
    plant = await startUplinkPlant({ machines: FLAPPING + OVENS, perMinute: 100 });
    const p = plant;
    const start = p.clock.now();
    const until = start + 3 * 60_000;
    await p.runUntil(until, (now) => {
      const t = now - start;
      for (const [i, m] of p.machines.entries()) {
        if (i >= FLAPPING) {
          // An oven: no count, a setpoint that moves every 20 s.
          if (t % 20_000 === 0) m.temp += 1;
          continue;
        }
        // Stopped 20 s of every minute, each machine at its own moment; counting while it runs.
        m.running = (t + ((i * 7919) % 60_000)) % 60_000 >= 20_000;
        if (m.running) m.count += 2;
      }
    });
    const sent = p.mes.requests.filter((r) => r.at < until);
    const counters = sent.filter((r) => r.path.endsWith('/counter') && r.status === 200);
    // Run/stop first, but a fifth of the budget stays with the other work.
    expect(counters.length).toBeGreaterThanOrEqual(sent.length / 5 - 5);
    expect(new Set(counters.map((r) => r.path)).size).toBe(counters.length);
    // Parameters-only work is not shut out either: every oven's setpoint reached the MES.
    for (const m of p.machines.slice(FLAPPING)) expect(p.mes.state[m.code].parameters.temp, m.code).toBeDefined();
    const collapsed = p.db.prepare(`SELECT COUNT(*) AS n FROM history WHERE kind = 'startstop' AND outcome = 'collapsed'`).get() as { n: number };
    expect(collapsed.n).toBeGreaterThan(0);
    expect(sent.filter((r) => r.status === 429)).toEqual([]);

    // Production stops changing: the queue drains and every total is exact.
    expect(await p.drain(20 * 60_000)).toBe(true);
    for (const [i, m] of p.machines.entries()) {
      const mes = p.mes.state[m.code];
      expect(mes.count ?? 0, m.code).toBe(m.count);
      if (i >= FLAPPING) expect(mes.parameters.temp, m.code).toBe(m.temp);
      // The MES ends in the machine's state (with nothing received it takes a machine as running).
      expect(mes.startstop.at(-1)?.running ?? 1, m.code).toBe(m.running ? 1 : 0);
    }
    expect(p.mes.busiestMinute()).toBeLessThanOrEqual(100);
  });
});
