import type { ApolloServer, DocumentStore } from '@apollo/server';
import type { GatewayConfig as ApolloGatewayConfig } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
import type { DocumentNode } from 'graphql';
import type { Logger } from '@storefront/platform/logger';
import type { GatewayContext } from '../../context.ts';
import { warmUpEnabled, type PlanCacheConfig } from './config.ts';
import { countingCache, type CacheStats } from './counting-cache.ts';
import { admitWarmUps, stopWarmUpAfterPlanning, warmUpPlans, type WarmUpReport } from './warm-up.ts';

export { planCacheEnv, type PlanCacheConfig } from './config.ts';
export { isWarmUpContext } from './warm-up.ts';
export type { CacheStats } from './counting-cache.ts';

/**
 * The two caches that make a repeated operation cheap — Apollo Server's
 * parsed-and-validated documents and ApolloGateway's query plans — sized by
 * DOCUMENT_CACHE_MB and QUERY_PLAN_CACHE_MB, counted, and filled at start
 * from the trusted documents (warm-up.ts).
 *
 * Wiring (gateway/src/index.ts): `gatewayOptions` into `new ApolloGateway`,
 * `documentStore` into `new ApolloServer`, `admit(gateway)` around the
 * gateway handed to it, and `warmUp(apollo)` after `apollo.start()` and
 * before listening.
 */
export interface PlanCaches {
  gatewayOptions: Pick<ApolloGatewayConfig, 'queryPlannerConfig' | 'experimental_didResolveQueryPlan'>;
  documentStore: DocumentStore;
  admit(gateway: GatewayInterface): GatewayInterface;
  /** Plans every trusted document (when PLAN_WARM_UP is on); the counts then start afresh. */
  warmUp(apollo: ApolloServer<GatewayContext>): Promise<WarmUpReport | undefined>;
  /** Counted since the gateway became ready. */
  stats: { plans: () => CacheStats; documents: () => CacheStats };
}

export function planCaches(
  config: PlanCacheConfig,
  options: { documents: ReadonlyMap<string, string>; logger: Logger },
): PlanCaches {
  const warmUp = warmUpEnabled(config);
  const plans = countingCache<QueryPlan>(config.QUERY_PLAN_CACHE_MB * 2 ** 20);
  const documents = countingCache<DocumentNode>(config.DOCUMENT_CACHE_MB * 2 ** 20);
  return {
    gatewayOptions: { queryPlannerConfig: { cache: plans }, experimental_didResolveQueryPlan: stopWarmUpAfterPlanning },
    documentStore: documents,
    admit: (gateway) => (warmUp ? admitWarmUps(gateway) : gateway),
    async warmUp(apollo) {
      if (!warmUp) return undefined;
      const report = await warmUpPlans({ apollo, documents: options.documents, logger: options.logger });
      plans.resetStats();
      documents.resetStats();
      return report;
    },
    stats: { plans: plans.stats, documents: documents.stats },
  };
}
