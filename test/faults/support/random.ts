import prand from 'pure-rand';

/**
 * The fault suite's one source of randomness: every choice (the order of the
 * kills and their moments, the downtimes, each customer's basket and what
 * they do with an order) is drawn from a generator seeded once, so a run is
 * replayed with `FAULTS_SEED=<seed>`. Timing on a shared machine is not
 * replayable; the choices are.
 */
export interface Random {
  readonly seed: number;
  /** A whole number in [min, max]. */
  int(min: number, max: number): number;
  /** A number in [min, max). */
  between(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
  /** An independent generator (one per customer), so one customer's draws do not shift another's. */
  fork(label: string): Random;
}

export function seededRandom(seed: number): Random {
  const rng = prand.xoroshiro128plus(seed);
  const int = (min: number, max: number) => prand.unsafeUniformIntDistribution(min, max, rng);
  const unit = () => int(0, 2 ** 30 - 1) / 2 ** 30;
  const random: Random = {
    seed,
    int,
    between: (min, max) => min + unit() * (max - min),
    chance: (probability) => unit() < probability,
    pick: (items) => items[int(0, items.length - 1)]!,
    shuffle: (items) => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
    fork: (label) => seededRandom((seed ^ hash(label)) >>> 0),
  };
  return random;
}

/** The seed from FAULTS_SEED, or a fresh one (printed by the suite, so the run can be replayed). */
export function suiteSeed(): number {
  const given = process.env.FAULTS_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`FAULTS_SEED must be a whole number ≥ 0, got "${given}"`);
  return seed;
}

/** FNV-1a: a stable number for a label. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
