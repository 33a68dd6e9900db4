/**
 * A seeded PRNG (mulberry32) for fault tests: the same seed replays the same "random"
 * moments and faults, so a failing run can be repeated with FAULTS_SEED=<seed>.
 */
export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}

/** FAULTS_SEED from the environment (to replay a failure), else a fresh one. */
export function faultSeed(): number {
  const fromEnv = process.env.FAULTS_SEED;
  return fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Date.now() % 2 ** 31;
}

/** The C library's linear congruential generator in [0, 1): the sequence the property tests were written against. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}
