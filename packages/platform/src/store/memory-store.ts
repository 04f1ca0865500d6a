import { LRUCache } from 'lru-cache';
import { assertBucketArguments, assertTtl, type BucketLimit, type BucketTake, type KeyValueStore } from './store.ts';

/**
 * The in-process store: the embedded default, and what the gateway falls
 * back to while Redis is unreachable. Same semantics as Redis (store.ts),
 * including expiry. Values and buckets each live in an LRU cache with a
 * per-key TTL, so a flood of distinct keys (one bucket per client address)
 * costs constant time per key: past the cap the least recently used key
 * goes. A periodic sweep drops expired keys nobody reads again.
 */
interface Bucket {
  tokens: number;
  at: number;
}

export interface MemoryStoreOptions {
  /** Values, and separately buckets, kept at most; the least recently used go first. @default 100_000 */
  maxEntries?: number;
  /** @default 30_000 */
  sweepIntervalMs?: number;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly values: LRUCache<string, string>;
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    this.values = new LRUCache({ max });
    this.buckets = new LRUCache({ max });
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    return keys.map((key) => this.values.get(key));
  }

  async set(key: string, value: string, options: { ttlMs?: number } = {}): Promise<void> {
    assertTtl(options.ttlMs);
    // No TTL clears an earlier one, as SET does in Redis.
    this.values.set(key, value, { ttl: options.ttlMs ?? 0 });
  }

  async delete(key: string): Promise<boolean> {
    // An expired key reads as absent and so was not there to delete (Redis's DEL counts it out too).
    const existed = this.values.get(key) !== undefined;
    this.values.delete(key);
    return existed;
  }

  async takeTokens(key: string, limit: BucketLimit, cost = 1): Promise<BucketTake> {
    assertBucketArguments(limit, cost);
    const now = Date.now();
    const rate = limit.capacity / limit.refillMs;
    const stored = this.buckets.get(key);
    let tokens = limit.capacity;
    let at = now;
    if (stored) {
      tokens = stored.tokens;
      at = stored.at;
      if (now > at) {
        tokens = Math.min(limit.capacity, tokens + (now - at) * rate);
        at = now;
      }
    }
    const allowed = tokens >= cost;
    if (allowed) tokens -= cost;
    // Forgotten once it would be full again (plus a second): a full bucket is the same as a new one.
    this.buckets.set(key, { tokens, at }, { ttl: Math.ceil((limit.capacity - tokens) / rate) + 1000 });
    return { allowed, remaining: Math.floor(tokens), retryAfterMs: allowed ? 0 : Math.ceil((cost - tokens) / rate) };
  }

  /** Keys held now (values and buckets, expired ones until the next sweep), for tests and metrics. */
  get size(): number {
    return this.values.size + this.buckets.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.values.clear();
    this.buckets.clear();
  }

  sweep(): void {
    this.values.purgeStale();
    this.buckets.purgeStale();
  }
}
