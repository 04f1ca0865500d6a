import type { Logger } from '../logger/logger.ts';
import { FallbackStore } from './fallback-store.ts';
import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { KeyValueStore } from './store.ts';

export type { BucketLimit, BucketTake, KeyValueStore } from './store.ts';

/**
 * The store a process uses: Redis (falling back to in-process state while it
 * is unreachable) when REDIS_URL is set, else the in-process store alone
 * (the embedded default).
 */
export function openStore(options: { redisUrl?: string; keyPrefix?: string }, logger: Logger): KeyValueStore {
  if (!options.redisUrl) return new MemoryStore();
  const redis = new RedisStore({ url: options.redisUrl, keyPrefix: options.keyPrefix });
  return new FallbackStore(redis, new MemoryStore(), logger.child({ component: 'store' }));
}
