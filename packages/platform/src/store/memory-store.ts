import { assertBucketArguments, assertTtl, type BucketLimit, type BucketTake, type KeyValueStore } from './store.ts';

/**
 * The in-process store: the embedded default, and what the gateway falls
 * back to while Redis is unreachable. Same semantics as Redis (store.ts),
 * including expiry; a sweep drops expired entries and a size cap bounds the
 * memory a flood of distinct keys (one bucket per client IP) can take.
 */
interface Entry {
  value: string;
  expiresAt: number; // Infinity: no TTL
}

interface Bucket {
  tokens: number;
  at: number;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  /** Oldest entries are dropped beyond this many keys. @default 100_000 */
  maxEntries?: number;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
  /** @default 30_000 */
  sweepIntervalMs?: number;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly values = new Map<string, Entry>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async set(key: string, value: string, options: { ttlMs?: number } = {}): Promise<void> {
    assertTtl(options.ttlMs);
    this.values.delete(key); // re-inserted last: the Map's order is the eviction order
    this.values.set(key, { value, expiresAt: options.ttlMs ? this.now() + options.ttlMs : Infinity });
    this.evict(this.values);
  }

  async delete(key: string): Promise<boolean> {
    const existed = (await this.get(key)) !== undefined;
    this.values.delete(key);
    return existed;
  }

  async takeTokens(key: string, limit: BucketLimit, cost = 1): Promise<BucketTake> {
    assertBucketArguments(limit, cost);
    const now = this.now();
    const rate = limit.capacity / limit.refillMs;
    const stored = this.buckets.get(key);
    let tokens = limit.capacity;
    let at = now;
    if (stored && stored.expiresAt > now) {
      tokens = stored.tokens;
      at = stored.at;
      if (now > at) {
        tokens = Math.min(limit.capacity, tokens + (now - at) * rate);
        at = now;
      }
    }
    const allowed = tokens >= cost;
    if (allowed) tokens -= cost;
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at, expiresAt: now + Math.ceil((limit.capacity - tokens) / rate) + 1000 });
    this.evict(this.buckets);
    return { allowed, remaining: Math.floor(tokens), retryAfterMs: allowed ? 0 : Math.ceil((cost - tokens) / rate) };
  }

  /** Keys held now (values and buckets), for tests and metrics. */
  get size(): number {
    return this.values.size + this.buckets.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.values.clear();
    this.buckets.clear();
  }

  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.values) if (entry.expiresAt <= now) this.values.delete(key);
    for (const [key, bucket] of this.buckets) if (bucket.expiresAt <= now) this.buckets.delete(key);
  }

  private evict(map: Map<string, unknown>): void {
    if (map.size <= this.maxEntries) return;
    this.sweep();
    for (const key of map.keys()) {
      if (map.size <= this.maxEntries) break;
      map.delete(key);
    }
  }
}
