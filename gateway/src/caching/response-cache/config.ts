import { env } from '@storefront/platform/config';

/**
 * Response-cache settings, spread into the gateway's config schema.
 *
 * On by default: it caches only what the subgraphs declare public with
 * `@cacheControl` (the catalog), keyed by the caller's role, and drops it as
 * soon as inventory-events says a product or its stock changed — so the
 * embedded `npm start` shows it working, and a deployment gets it without a
 * flag. Without an event bus it stays off (nothing would invalidate it).
 */
export const responseCacheEnv = {
  RESPONSE_CACHE: env
    .bool(true)
    .describe('Serve repeated public queries (catalog, search, categories) from the cache.'),
  RESPONSE_CACHE_MEMORY_MB: env
    .int(64, 1)
    .describe('MiB of cached responses each instance keeps in process, in front of the shared store (Redis).'),
  RESPONSE_CACHE_MAX_AGE_SECONDS: env
    .int(60, 1)
    .describe("Upper bound on how long an answer is kept, whatever the subgraphs' hints say."),
  HTTP_CACHE_MAX_AGE_SECONDS: env
    .int(30, 0)
    .describe(
      'Upper bound on `max-age` of public answers sent to browsers and CDNs, which no invalidation event reaches.',
    ),
};

export interface ResponseCacheConfig {
  RESPONSE_CACHE: boolean;
  RESPONSE_CACHE_MEMORY_MB: number;
  RESPONSE_CACHE_MAX_AGE_SECONDS: number;
  HTTP_CACHE_MAX_AGE_SECONDS: number;
}
