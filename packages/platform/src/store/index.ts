/**
 * Shared key-value state with token buckets (rate limits, revocations,
 * caches): Redis, or the in-process store of the embedded default, behind
 * one interface; `openStore` picks from the config.
 */
export { openStore } from './open.ts';
export type { BucketLimit, BucketTake, KeyValueStore } from './store.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
export { RedisStore, type RedisStoreOptions } from './redis-store.ts';
export { FallbackStore } from './fallback-store.ts';
