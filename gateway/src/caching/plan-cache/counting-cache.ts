import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';

/**
 * An LRU bounded in bytes (each entry measured as its JSON) that counts its
 * hits and misses, for the plan and document caches: the counts show whether
 * warm-up and the cache sizes do their job (tests, metrics).
 */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries held now. */
  size: number;
}

// `NonNullable<unknown>` is `{}`: InMemoryLRUCache's own bound on what it stores.
export interface CountingCache<T extends NonNullable<unknown>> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean>;
  clear(): void;
  stats: () => CacheStats;
  /** Starts counting afresh (after warm-up, so the counts are those of real requests). */
  resetStats(): void;
}

export function countingCache<T extends NonNullable<unknown>>(maxBytes: number): CountingCache<T> {
  // InMemoryLRUCache measures objects by their JSON, as ApolloGateway and Apollo Server do for these caches.
  const lru = new InMemoryLRUCache<T>({ maxSize: maxBytes });
  let hits = 0;
  let misses = 0;
  return {
    async get(key) {
      const value = await lru.get(key);
      if (value === undefined) misses++;
      else hits++;
      return value;
    },
    set: (key, value, options) => lru.set(key, value, options ?? undefined),
    delete: (key) => lru.delete(key),
    clear: () => lru.clear(),
    stats: () => ({ hits, misses, size: lru.keys().length }),
    resetStats() {
      hits = 0;
      misses = 0;
    },
  };
}
