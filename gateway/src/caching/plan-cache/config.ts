import { env } from '@storefront/platform/config';

/**
 * Sizes of the two caches that make a repeated operation cheap, and the
 * warm-up that fills them at start (index.ts).
 */
export const planCacheEnv = {
  QUERY_PLAN_CACHE_MB: env.int(30, 1).describe("MiB of query plans kept (ApolloGateway's own default is 30)."),
  DOCUMENT_CACHE_MB: env
    .int(30, 1)
    .describe("MiB of parsed and validated documents kept (Apollo Server's own default is 30)."),
  PLAN_WARM_UP: env
    .bool(true)
    .describe('Plan every trusted document (TRUSTED_DOCUMENTS) before the gateway reports ready.'),
};

export interface PlanCacheConfig {
  QUERY_PLAN_CACHE_MB: number;
  DOCUMENT_CACHE_MB: number;
  PLAN_WARM_UP: boolean;
  TRUSTED_DOCUMENTS?: string | undefined;
}

/** Warm-up needs something to warm up from: without TRUSTED_DOCUMENTS, PLAN_WARM_UP has nothing to do. */
export function warmUpEnabled(config: PlanCacheConfig): boolean {
  return config.PLAN_WARM_UP && Boolean(config.TRUSTED_DOCUMENTS);
}
