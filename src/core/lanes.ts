/** The three kinds of pending work, one queue each per machine (docs/rate-budget.md#priorities-and-fairness). */
export type Lane = 'startstop' | 'counter' | 'parameters';
