/**
 * What the gateway keeps so a repeated request costs less:
 *
 *   plan-cache/         parsed documents and query plans, warmed up at start
 *   response-cache/     answers of public data, dropped on catalog events
 *   entity-cache/       public entities (products, categories) reused by any query, dropped on the same events
 *   catalog-generation  what moves on every catalog event, in both caches' keys
 *   trusted-documents   persisted operations: the apps' manifest and APQ registrations
 *   tiered-cache        process memory in front of the shared store (Redis), under the last two
 */
export { planCaches, planCacheEnv, isWarmUpContext, type CacheStats, type PlanCaches } from './plan-cache/index.ts';
export {
  startResponseCache,
  responseCacheEnv,
  type ResponseCache,
  type ResponseCacheStats,
} from './response-cache/index.ts';
export {
  createEntityCache,
  entityCacheEnv,
  isEntityFetch,
  type EntityCache,
  type EntityCacheStats,
} from './entity-cache/index.ts';
export { followCatalogChanges, type CatalogGeneration } from './catalog-generation.ts';
export { deploymentFingerprint } from './deployment.ts';
export { loadTrustedDocuments, trustedDocumentsEnv, type TrustedDocuments } from './trusted-documents.ts';
