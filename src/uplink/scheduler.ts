/**
 * Which pending item gets the next request slot (docs/rate-budget.md#priorities-and-fairness):
 * lanes in priority order, machines round-robin within a lane, and no lane starves: counters
 * get every fifth pick when run/stop alone would fill the budget, parameters 1 pick in 11
 * when counters would. Pure: the caller says what is pending and which machines already
 * have a request in flight.
 */
export type Lane = 'startstop' | 'counter' | 'parameters';

/** Highest priority first: a stop opens a downtime, so it must not wait behind counts. */
const lanes: readonly Lane[] = ['startstop', 'counter', 'parameters'];

/** Parameters go before counters after waiting this many counter picks: 1 pick in 11 is theirs. */
const PARAMETERS_EVERY = 10;
const agedOrder: readonly Lane[] = ['startstop', 'parameters', 'counter'];
/**
 * Counters go first after waiting this many run/stop picks: many machines flapping must not
 * hold the counts back for long, yet run/stop keeps four fifths of a saturated budget.
 */
const COUNTERS_EVERY = 4;
const countersFirst: readonly Lane[] = ['counter', 'startstop', 'parameters'];

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
  private countersWaited = 0;

  pick(candidates: readonly Candidate[], busy: ReadonlySet<string>): Candidate | undefined {
    const order = this.countersWaited >= COUNTERS_EVERY ? countersFirst : this.paramsWaited >= PARAMETERS_EVERY ? agedOrder : lanes;
    for (const lane of order) {
      const best = this.bestIn(lane, candidates, busy);
      if (best === undefined) continue;
      this.served.get(lane)!.set(best.machine, this.seq++);
      // Parameters of an idle machine wait behind counters, but not for ever: when the
      // budget is saturated by counters, the pick after every ten counter picks is theirs.
      if (lane === 'parameters') this.paramsWaited = 0;
      else if (lane === 'counter' && this.bestIn('parameters', candidates, busy)) this.paramsWaited++;
      if (lane === 'counter') this.countersWaited = 0;
      else if (lane === 'startstop' && this.bestIn('counter', candidates, busy)) this.countersWaited++;
      return best;
    }
    return undefined;
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
