/**
 * The MES client's `acquire`: a slot of the rate budget, and the send remembered on disk
 * (outbox/request-log.ts) so that a restart cannot burst past the company's limit.
 * One commit before the bytes leave (the send and the caller's attempt marker); the answer
 * time rides on the commit that settles the answer (docs/delivery.md#writes-per-request).
 */
import type { Clock } from '../core/clock.js';
import type { RequestLog } from '../outbox/request-log.js';
import type { MesClientOptions } from './mes-client.js';
import type { SendBudget } from './rate-budget.js';

export interface RecordedAcquireOptions {
  budget: SendBudget;
  requests: RequestLog;
  clock: Clock;
  /** The answer times could not be written (disk full, I/O error). */
  onStorageFault: (err: unknown) => void;
}

export function recordedAcquire(o: RecordedAcquireOptions): MesClientOptions['acquire'] {
  return async (onSend) => {
    const answered = await o.budget.acquire();
    let row: number;
    try {
      row = o.requests.record(o.clock.now(), onSend);
    } catch (err) {
      // Nothing leaves what could not be recorded; the slot counts as used now.
      answered();
      throw err;
    }
    return () => {
      answered();
      o.requests.answered(row, o.clock.now());
      // The uploader settles the answer synchronously, before this timer: its commit takes the
      // answer time along, and the flush finds nothing. It commits only when nothing settled.
      o.clock.setTimeout(() => {
        try {
          o.requests.flush();
        } catch (err) {
          o.onStorageFault(err);
        }
      }, 0);
    };
  };
}
