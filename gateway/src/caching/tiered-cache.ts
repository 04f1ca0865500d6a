import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { KeyValueStore } from '@storefront/platform/store';

/**
 * A two-level cache for Apollo's cache hooks (persisted queries, response
 * cache): an in-process LRU in front of the shared store (Redis, or the
 * in-process store of the embedded default).
 *
 * Why two levels: a hit in process memory costs nothing, while Redis costs a
 * round trip; Redis is what lets a hash registered on one gateway instance,
 * or a response cached by it, serve every other instance.
 *
 * The shared level keeps each entry's absolute expiry next to its value, so
 * an entry copied into process memory on a read lives no longer there than it
 * had left in the shared store.
 */
export interface TieredCacheOptions {
  /** The shared store. */
  store: KeyValueStore;
  /** Key prefix in the shared store, one per use ("apq:", "response:"). */
  namespace: string;
  /** Bytes the in-process level may hold (values are measured by length). */
  memoryBytes: number;
}

export function tieredCache(options: TieredCacheOptions): KeyValueCache<string> {
  const memory = new InMemoryLRUCache<string>({
    maxSize: options.memoryBytes,
    sizeCalculation: (value: string) => value.length || 1,
  });
  const sharedKey = (key: string) => `${options.namespace}${key}`;

  return {
    async get(key) {
      const local = await memory.get(key);
      if (local !== undefined) return local;
      const stored = await options.store.get(sharedKey(key)).catch(() => undefined);
      if (stored === undefined) return undefined;
      const entry = decode(stored);
      if (!entry) return undefined;
      const ttlSeconds = entry.expiresAt === undefined ? undefined : (entry.expiresAt - Date.now()) / 1000;
      if (ttlSeconds !== undefined && ttlSeconds <= 0) return undefined;
      await memory.set(key, entry.value, ttlSeconds === undefined ? {} : { ttl: ttlSeconds });
      return entry.value;
    },

    async set(key, value, setOptions?: KeyValueCacheSetOptions) {
      const ttlSeconds = setOptions?.ttl ?? undefined;
      await memory.set(key, value, ttlSeconds ? { ttl: ttlSeconds } : {});
      const expiresAt = ttlSeconds ? Date.now() + ttlSeconds * 1000 : undefined;
      // The shared level is an optimisation: a store outage must not fail the request.
      await options.store
        .set(sharedKey(key), encode(value, expiresAt), ttlSeconds ? { ttlMs: Math.ceil(ttlSeconds * 1000) } : {})
        .catch(() => {});
    },

    async delete(key) {
      await memory.delete(key);
      return options.store.delete(sharedKey(key)).catch(() => false);
    },
  };
}

// "<expiresAt ms or empty>|<value>": the value itself may contain anything.
function encode(value: string, expiresAt: number | undefined): string {
  return `${expiresAt ?? ''}|${value}`;
}

function decode(stored: string): { value: string; expiresAt: number | undefined } | undefined {
  const bar = stored.indexOf('|');
  if (bar < 0) return undefined;
  const head = stored.slice(0, bar);
  const expiresAt = head === '' ? undefined : Number(head);
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) return undefined;
  return { value: stored.slice(bar + 1), expiresAt };
}
