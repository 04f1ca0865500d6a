import { env } from '@storefront/platform/config';

/**
 * Entity-cache settings, spread into the gateway's config schema.
 *
 * On by default, like the response cache: it keeps only entities a subgraph
 * declares public with `@cacheControl` (products and categories), keyed by
 * the caller's role, and drops them on the same catalog events. Without an
 * event bus it stays off (nothing would drop a changed price).
 */
export const entityCacheEnv = {
  ENTITY_CACHE: env
    .bool(true)
    .describe(
      'Keep public entities (products, categories) fetched for one query and reuse them in the next, personal pages included.',
    ),
  ENTITY_CACHE_MEMORY_MB: env.int(32, 1).describe('MiB of cached entities each instance keeps in process.'),
  ENTITY_CACHE_MAX_AGE_SECONDS: env
    .int(60, 1)
    .describe("Upper bound on how long an entity is kept, whatever the subgraphs' hints say."),
};

export interface EntityCacheConfig {
  ENTITY_CACHE: boolean;
  ENTITY_CACHE_MEMORY_MB: number;
  ENTITY_CACHE_MAX_AGE_SECONDS: number;
}
