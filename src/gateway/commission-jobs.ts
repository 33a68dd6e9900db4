/**
 * Long commissioning work (a scan, a listen) as a Job the page polls: a live object whose
 * state, progress, expected time left and results change while it runs, and that ends
 * done, aborted or failed, with its error's stable code. Few at a time: each holds a
 * connection to a device (and a unit scan a whole serial line).
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Job, JobKind } from '../core/commission.js';
import { errorCode, GatewayError } from '../core/errors.js';

/** Jobs running at once, across the gateway. */
const MAX_RUNNING_JOBS = 2;

export interface JobWork<R> {
  signal: AbortSignal;
  /** The job's results, for work that updates entries in place (a listen's topics). */
  results: R[];
  add(rs: R[]): void;
  progress(done: number, total: number, etaMs?: number): void;
}

export class CommissionJobs {
  private running = 0;

  constructor(private readonly o: { clock: Clock; logger: Logger; newId: () => string }) {}

  /** Starts `work` at once (it cleans up after itself). Throws SFG_COMMISSION_BUSY when MAX_RUNNING_JOBS run. */
  start<R>(kind: JobKind, work: (w: JobWork<R>) => Promise<void>): Job {
    if (this.running >= MAX_RUNNING_JOBS) {
      throw new GatewayError('SFG_COMMISSION_BUSY', `${MAX_RUNNING_JOBS} scans or listens are running already: wait for one to end, or abort it`);
    }
    const aborter = new AbortController();
    const results: R[] = [];
    const job: Job = {
      id: this.o.newId(),
      kind,
      state: 'running',
      progress: { done: 0, total: 0 },
      results,
      abort: () => aborter.abort(),
    };
    const w: JobWork<R> = {
      signal: aborter.signal,
      results,
      add: (rs) => {
        results.push(...rs);
      },
      progress: (d, total, etaMs) => {
        job.progress = { done: d, total };
        if (etaMs === undefined) delete job.etaMs;
        else job.etaMs = etaMs;
      },
    };
    this.running++;
    const began = this.o.clock.now();
    const log = this.o.logger.child({ job: job.id, kind });
    log.info({ event: 'commission.job_started' }, 'commissioning job started');
    void (async () => {
      try {
        await work(w);
        job.state = aborter.signal.aborted ? 'aborted' : 'done';
      } catch (err) {
        job.state = 'failed';
        job.error = { code: errorCode(err) ?? 'SFG_COMMISSION_JOB_FAILED', message: (err as Error).message };
      } finally {
        delete job.etaMs;
        this.running--;
        log.info(
          { event: 'commission.job_ended', state: job.state, results: results.length, ms: this.o.clock.now() - began, code: job.error?.code },
          'commissioning job ended',
        );
      }
    })();
    return job;
  }
}
