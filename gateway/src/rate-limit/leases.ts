import { LRUCache } from 'lru-cache';
import type { BucketLimit, BucketTake, KeyValueStore } from '@storefront/platform/store';

/**
 * Tokens taken from a shared bucket a few at a time and spent here.
 *
 * Every gateway instance counts a caller's requests in the shared store
 * (Redis), so a limit holds however the requests are spread. Asking Redis on
 * every request was a round trip per route touched, the largest part of the
 * gateway's own CPU on a small answer. Instead, when a bucket has tokens to
 * spare, an instance takes a lease — the request's cost and a twentieth of the
 * limit more — and spends what it took on the caller's next requests here.
 *
 * No caller ever gets more than its limit: every token spent was taken from
 * the shared bucket first. On one instance the limit is exact too: a lease
 * the bucket cannot give is asked again for the request's cost alone, so a
 * caller near its limit is counted request by request. With several
 * instances a caller may be refused by one while the others hold leased
 * tokens it has not used: at most a twentieth of the limit per instance,
 * given back by time as the bucket refills. Small limits (under 40 a window:
 * the log-in and sign-up limits) are not leased at all.
 */
export const LEASE_SHARE = 20;
const MAX_LEASES = 100_000;

interface Lease {
  tokens: number;
}

export interface TokenLeases {
  /** As `store.takeTokens`, spending leased tokens first. */
  take(key: string, limit: BucketLimit, cost: number): Promise<BucketTake>;
}

export function createTokenLeases(store: KeyValueStore): TokenLeases {
  // A lease lives no longer than its bucket's window: by then the tokens it holds would have refilled anyway.
  const leases = new LRUCache<string, Lease>({ max: MAX_LEASES, ttlAutopurge: false });
  const keep = (key: string, tokens: number, limit: BucketLimit) => {
    if (tokens <= 0) return;
    const held = leases.get(key);
    if (held) held.tokens += tokens;
    else leases.set(key, { tokens }, { ttl: limit.refillMs });
  };
  return {
    async take(key, limit, cost) {
      const held = leases.get(key);
      if (held && held.tokens >= cost) {
        held.tokens -= cost;
        return { allowed: true, remaining: held.tokens, retryAfterMs: 0 };
      }
      // What is held goes toward this request, taken now so that no other request spends it meanwhile.
      const local = held?.tokens ?? 0;
      if (held) held.tokens = 0;
      const need = cost - local;
      const ask = Math.min(limit.capacity, need + Math.floor(limit.capacity / LEASE_SHARE));
      if (ask - need >= 2) {
        const leased = await store.takeTokens(key, limit, ask);
        if (leased.allowed) {
          keep(key, ask - need, limit);
          return { allowed: true, remaining: leased.remaining + ask - need, retryAfterMs: 0 };
        }
      }
      // Near the limit (or a small one): exactly what this request still needs.
      const exact = await store.takeTokens(key, limit, need);
      if (!exact.allowed) keep(key, local, limit);
      return exact;
    },
  };
}
