/** The gateway's CommissionTools for tests: real adapters' modules, the pauses it asks for recorded, jobs followed to their end. */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import type { CommissionTools, Job } from '../../src/core/commission.js';
import type { DeviceConfig } from '../../src/config/schema.js';
import { createCommissionTools } from '../../src/gateway/commission-tools.js';
import { eventually } from './wait.js';

export interface ToolsUnderTest {
  tools: CommissionTools;
  /** Every pause and resume asked for, in order: `pause unit1`, `resume unit1`. */
  pauses: string[];
}

export function commissionTools(stateRoot: string, devices: DeviceConfig[] = []): ToolsUnderTest {
  const pauses: string[] = [];
  const tools = createCommissionTools({
    clock: systemClock,
    random: () => 0.5,
    logger: pino({ level: 'silent' }),
    stateDir: (device) => join(stateRoot, device),
    devices: () => devices,
    pause: (ids, paused) => pauses.push(...ids.map((id) => `${paused ? 'pause' : 'resume'} ${id}`)),
    newId: randomUUID,
  });
  return { tools, pauses };
}

/** Waits (bounded) until the job is no longer running. */
export function finished(job: Job, timeoutMs = 60_000): Promise<Job> {
  return eventually(
    () => job,
    (j) => j.state !== 'running',
    timeoutMs,
    `job ${job.kind} to end`,
  );
}
