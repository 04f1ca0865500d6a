/**
 * The key-value store port: what rate limiting, token revocation and caching
 * need from Redis. Two adapters implement it with the same semantics (one
 * contract suite proves it): Redis through ioredis, and an in-process store
 * for the embedded default and for running on while Redis is unreachable.
 *
 * Semantics both guarantee:
 * - values are strings; a TTL is in milliseconds and an expired key reads as
 *   absent; `set` without a TTL keeps the value until it is deleted or
 *   overwritten (and clears an earlier TTL);
 * - `takeTokens` is atomic: however many callers take from one bucket at
 *   once, no more tokens are handed out than the bucket holds;
 * - a bucket that has refilled to full is indistinguishable from a new one,
 *   so its key expires then and idle buckets cost nothing.
 */
export interface BucketLimit {
  /** Tokens a full bucket holds: the burst a caller may spend at once. */
  capacity: number;
  /** Milliseconds an empty bucket takes to refill to full ("capacity per window"). */
  refillMs: number;
}

export interface BucketTake {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When refused: milliseconds until the tokens asked for are there. 0 when allowed. */
  retryAfterMs: number;
}

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  /** One round trip for several keys; absent keys are undefined, in order. */
  getMany(keys: string[]): Promise<(string | undefined)[]>;
  set(key: string, value: string, options?: { ttlMs?: number }): Promise<void>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Takes `cost` tokens (default 1) from the bucket at `key`, refilling it
   * first for the time since the last take; all or nothing. A cost above the
   * capacity can never be met and is a RangeError.
   */
  takeTokens(key: string, limit: BucketLimit, cost?: number): Promise<BucketTake>;
  close(): Promise<void>;
}

export function assertBucketArguments(limit: BucketLimit, cost: number): void {
  if (!(Number.isFinite(limit.capacity) && limit.capacity > 0))
    throw new RangeError(`bucket capacity must be positive, got ${limit.capacity}`);
  if (!(Number.isFinite(limit.refillMs) && limit.refillMs > 0))
    throw new RangeError(`bucket refillMs must be positive, got ${limit.refillMs}`);
  if (!(Number.isFinite(cost) && cost > 0)) throw new RangeError(`token cost must be positive, got ${cost}`);
  if (cost > limit.capacity) throw new RangeError(`token cost ${cost} exceeds the bucket capacity ${limit.capacity}`);
}

export function assertTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0))
    throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}
