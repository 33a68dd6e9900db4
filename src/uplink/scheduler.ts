/**
 * Which pending item gets the next request slot (docs/rate-budget.md#priorities-and-fairness):
 * lanes in priority order, machines round-robin within a lane, and no lane starves. Run/stop
 * goes first, but when it alone would fill the budget, every fifth pick goes to the others'
 * work (counters, else parameters); among those, parameters get 1 pick in 11 when counters
 * would take them all. Pure: the caller says what is pending and which machines already
 * have a request in flight.
 */
import type { Lane } from '../core/lanes.js';

/** Highest priority first: a stop opens a downtime, so it must not wait behind counts. */
const lanes: readonly Lane[] = ['startstop', 'counter', 'parameters'];

/** Parameters go before counters after waiting this many counter picks: 1 pick in 11 is theirs. */
const PARAMETERS_EVERY = 10;
/**
 * Counters and parameters go before run/stop after waiting this many run/stop picks: many
 * machines flapping must not hold the counts (or the parameters) back for long, yet run/stop
 * keeps four fifths of a saturated budget.
 */
const OTHERS_EVERY = 4;

export interface Candidate {
  machine: string;
  lane: Lane;
}

/**
 * Round robin as "least recently served first": with every machine pending it cycles
 * through them in code order; when the pending set changes between picks, a machine
 * still waits at most once behind each other machine. (Remembering only the last served
 * machine would send one that was busy at its turn to the back of a whole rotation.)
 */
export class RoundRobinScheduler {
  /** Per lane, machine → sequence number of its last service. */
  private readonly served = new Map<Lane, Map<string, number>>(lanes.map((l) => [l, new Map()]));
  private seq = 0;
  private paramsWaited = 0;
  /** Run/stop picks in a row while counter or parameters work waited. */
  private othersWaited = 0;

  pick(candidates: readonly Candidate[], busy: ReadonlySet<string>): Candidate | undefined {
    const startstop = this.bestIn('startstop', candidates, busy);
    const counter = this.bestIn('counter', candidates, busy);
    const parameters = this.bestIn('parameters', candidates, busy);
    // Parameters of an idle machine wait behind counters, but not for ever: when the budget
    // is saturated by counters, the pick after every ten counter picks is theirs.
    const other = parameters && (!counter || this.paramsWaited >= PARAMETERS_EVERY) ? parameters : counter;
    const best = startstop && (!other || this.othersWaited < OTHERS_EVERY) ? startstop : other;
    if (best === undefined) return undefined;
    this.served.get(best.lane)!.set(best.machine, this.seq++);
    if (best === startstop) {
      if (other) this.othersWaited++;
    } else {
      this.othersWaited = 0;
      if (best.lane === 'parameters') this.paramsWaited = 0;
      else if (parameters) this.paramsWaited++;
    }
    return best;
  }

  private bestIn(lane: Lane, candidates: readonly Candidate[], busy: ReadonlySet<string>): Candidate | undefined {
    const served = this.served.get(lane)!;
    let best: Candidate | undefined;
    let bestAt = Infinity;
    for (const c of candidates) {
      if (c.lane !== lane || busy.has(c.machine)) continue;
      const at = served.get(c.machine) ?? -1;
      if (at < bestAt || (at === bestAt && c.machine < best!.machine)) {
        best = c;
        bestAt = at;
      }
    }
    return best;
  }
}
