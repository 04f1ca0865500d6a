import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import ApolloServerPluginResponseCache from '@apollo/server-plugin-response-cache';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Logger } from '@storefront/platform/logger';
import type { KeyValueStore } from '@storefront/platform/store';
import { httpCacheHeaders } from '../http-cache-headers.ts';
import { tieredCache } from '../tiered-cache.ts';
import type { GatewayContext } from '../../context.ts';
import { isWarmUpContext } from '../plan-cache/index.ts';
import type { Supergraph } from '../../supergraph/index.ts';
import type { CatalogGeneration } from '../catalog-generation.ts';
import { deploymentFingerprint } from '../deployment.ts';
import type { ResponseCacheConfig } from './config.ts';

export { responseCacheEnv, type ResponseCacheConfig } from './config.ts';

/**
 * The response cache for public data (catalog, search, categories).
 *
 * What may be cached is decided by the subgraphs, not here: each declares
 * `@cacheControl` hints, its Apollo Server turns them into the Cache-Control
 * header of its answer, and the gateway's data sources
 * (RemoteGraphQLDataSource, honorSubgraphCacheControlHeader) narrow the
 * request's cache policy with every subgraph answer. A subgraph answer
 * without a cacheable header (every per-user field: `me`, orders, staff-only
 * `stockLevel`) makes the whole response uncacheable.
 *
 * Apollo's response-cache plugin then stores what is left: queries only,
 * without errors, with a positive maxAge (capped by
 * RESPONSE_CACHE_MAX_AGE_SECONDS), keyed by the operation text, its name and
 * variables, plus:
 * - the caller's role (anonymous, CUSTOMER, STAFF, ADMIN): what a role may see
 *   is never served to another role;
 * - the catalog generation (../catalog-generation.ts), which moves with every
 *   inventory event, so a price or stock change is visible as soon as the
 *   event is consumed (well within 1 s) on every instance;
 * - a fingerprint of the supergraph and the subgraph URLs it routes to
 *   (../deployment.ts): a rolling deploy that changes the schema, or a canary
 *   routed to other subgraph instances, never reads another's answers.
 * PRIVATE-scoped answers are never stored (`sessionId` is always null): no
 * subgraph needs per-user caching today, and not storing them at all is the
 * one way a per-user answer can never reach another user.
 *
 * Storage: process memory in front of the shared store (Redis), so an answer
 * cached by one instance serves the others.
 *
 * What clients are told they may keep is decided apart (../http-cache-headers.ts):
 * public hints reach browsers and CDNs only for anonymous queries, capped,
 * since they know nothing of the invalidation events or of the role in the key.
 */
export interface ResponseCacheStats {
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups that found nothing (the query then ran). */
  misses: number;
  /** Answers stored. */
  stores: number;
}

export interface ResponseCache {
  /**
   * The plugins, in this order, after limits, rate limits and trusted
   * documents (so they apply to cached answers too) and before any plugin that
   * shares executions (a cache hit must not wait for one).
   */
  plugins: ApolloServerPlugin<GatewayContext>[];
  enabled: boolean;
  stats: () => ResponseCacheStats;
}

export function startResponseCache(options: {
  config: ResponseCacheConfig;
  store: KeyValueStore;
  /** What drops an answer when the catalog changes; undefined without an event bus (then the cache stays off). */
  catalog: CatalogGeneration | undefined;
  /** The supergraph served now (it changes on a reload: entries of the old one are then never read). */
  supergraph: () => Supergraph;
  logger: Logger;
}): ResponseCache {
  const { config, logger } = options;
  const stats: ResponseCacheStats = { hits: 0, misses: 0, stores: 0 };
  // The gateway computes the policy from its subgraphs' headers; what clients see is http-cache-headers.ts's call.
  const headers: ApolloServerPlugin<GatewayContext>[] = [
    ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
    httpCacheHeaders({ maxAgeSeconds: config.HTTP_CACHE_MAX_AGE_SECONDS }),
  ];
  const off = (reason?: string): ResponseCache => {
    if (reason) logger.warn(reason);
    return { plugins: headers, enabled: false, stats: () => ({ ...stats }) };
  };

  if (!config.RESPONSE_CACHE) return off();
  const generation = options.catalog;
  if (!generation)
    return off(
      'no event bus: the response cache is off, since nothing would drop an answer when a price or stock changes',
    );

  const cache = counted(
    tieredCache({
      store: options.store,
      namespace: 'response:',
      memoryBytes: config.RESPONSE_CACHE_MEMORY_MB * 1024 * 1024,
    }),
    config.RESPONSE_CACHE_MAX_AGE_SECONDS,
    stats,
  );
  const deployment = deploymentFingerprint(options.supergraph);
  const responseCache = ApolloServerPluginResponseCache<GatewayContext>({
    cache,
    // Never per-user entries: PRIVATE answers are not stored at all.
    sessionId: async () => null,
    // Plan warm-up runs stop after planning: they must be planned, not answered from here, and leave nothing behind.
    shouldReadFromCache: async ({ contextValue }) => !isWarmUpContext(contextValue),
    shouldWriteToCache: async ({ contextValue }) => !isWarmUpContext(contextValue),
    extraCacheKeyData: async ({ contextValue }) => ({
      role: contextValue.identity?.role ?? 'anonymous',
      // Read before the query runs: an answer computed while a change arrives is stored under the old generation, unreachable.
      catalog: generation.current(),
      deployment: deployment(),
    }),
  });
  logger.info(
    {
      memoryMb: config.RESPONSE_CACHE_MEMORY_MB,
      maxAgeSeconds: config.RESPONSE_CACHE_MAX_AGE_SECONDS,
    },
    'response cache ready',
  );
  return { plugins: [...headers, responseCache], enabled: true, stats: () => ({ ...stats }) };
}

/** Caps every entry's lifetime and counts lookups (metrics read the counts). */
function counted(
  cache: KeyValueCache<string>,
  maxAgeSeconds: number,
  stats: ResponseCacheStats,
): KeyValueCache<string> {
  return {
    async get(key) {
      const value = await cache.get(key);
      if (value === undefined) stats.misses += 1;
      else stats.hits += 1;
      return value;
    },
    async set(key, value, setOptions) {
      stats.stores += 1;
      const ttl = Math.min(setOptions?.ttl ?? maxAgeSeconds, maxAgeSeconds);
      await cache.set(key, value, { ...setOptions, ttl });
    },
    delete: (key) => cache.delete(key),
  };
}
