/**
 * Reproducible randomness for the mix: a seeded generator (the same seed
 * makes the same catalog, histories and request sequence) and Zipf sampling.
 */
export type Random = () => number;

/** mulberry32: small, fast, and good enough to pick requests; not for secrets. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Ranks 0…n-1 drawn with probability ∝ 1/(rank+1)^exponent: a few products
 * and categories get most of the views, a long tail gets a few each, as in
 * real shops. The cumulative weights are computed once; each draw is a
 * binary search.
 */
export function zipf(n: number, exponent: number): (random: Random) => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank += 1) {
    total += 1 / (rank + 1) ** exponent;
    cumulative[rank] = total;
  }
  return (random) => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** One of `choices`, each with its weight (weights need not sum to anything in particular). */
export function weighted<T>(choices: readonly (readonly [T, number])[]): (random: Random) => T {
  const positive = choices.filter(([, w]) => w > 0);
  const total = positive.reduce((sum, [, w]) => sum + w, 0);
  return (random) => {
    let target = random() * total;
    for (const [choice, w] of positive) {
      target -= w;
      if (target < 0) return choice;
    }
    return positive.at(-1)![0];
  };
}
