/**
 * What the gateway keeps so a repeated request costs less:
 *
 *   plan-cache/         parsed documents and query plans, warmed up at start
 *   response-cache/     answers of public data, dropped on catalog events
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
export { loadTrustedDocuments, trustedDocumentsEnv, type TrustedDocuments } from './trusted-documents.ts';
