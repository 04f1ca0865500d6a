import { env, loadConfig } from '@storefront/platform/config';
import { z } from 'zod';
import { operationLimitsEnv } from './limits/config.ts';
import { securityEnv } from './security-config.ts';
import { subscriptionEnv } from './subscriptions/config.ts';
import { trustedDocumentsEnv } from './trusted-documents.ts';
import { planCacheEnv } from './plan-cache/config.ts';
import { singleFlightEnv } from './single-flight/operations.ts';
// Response cache: RESPONSE_CACHE, RESPONSE_CACHE_MEMORY_MB, RESPONSE_CACHE_MAX_AGE_SECONDS.
import { responseCacheEnv } from './response-cache/config.ts';
import { metricsEnv } from './metrics/config.ts';
// Subgraph transport (pools, balancing, health checks, fetch dedup) and the SUBGRAPH_URL_<NAME> instance lists.
import { subgraphTransportEnv } from './transport/config.ts';
import { validateSubgraphUrls } from './transport/instances.ts';

export const gatewayConfigSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: env.port(4000),
  /** rover-format config composed at start. Ignored when SUPERGRAPH_SDL is set. */
  SUPERGRAPH_CONFIG: z.string().default('supergraph.yaml'),
  /** A prebuilt supergraph SDL file: the gateway then fronts any federated graph. */
  SUPERGRAPH_SDL: z.string().optional(),
  /** Where the users service publishes the access-token keys. Default: next to the users routing URL. */
  JWKS_URL: z.url().optional(),
  JWT_ISSUER: z.string().default('storefront'),
  JWT_AUDIENCE: z.string().default('storefront-api'),
  /** Shared with the subgraphs; SUBGRAPH_SECRET_<NAME> overrides it for one subgraph. */
  SUBGRAPH_SECRET: z.string().min(16, 'must be at least 16 characters').default('dev-only-subgraph-secret-change-me'),
  SUBGRAPH_TIMEOUT_MS: env.int(10_000, 100),
  /** Subgraph transport: SUBGRAPH_CONNECT_TIMEOUT_MS, SUBGRAPH_MAX_CONNECTIONS, SUBGRAPH_HEALTH_INTERVAL_MS, SUBGRAPH_DEDUP (transport/config.ts). */
  ...subgraphTransportEnv,
  MAX_BODY_BYTES: env.int(256 * 1024, 1024),
  /** Introspection; off by default in production. */
  INTROSPECTION: env.optionalBool(),
  /** Operation limits: LIMIT_MAX_DEPTH, LIMIT_MAX_COST, … (limits/config.ts). */
  ...operationLimitsEnv,
  /** Tokens, revocation and rate limits: REDIS_URL, RATE_LIMITS_CONFIG, … (security-config.ts). */
  ...securityEnv,
  /** WebSocket endpoint and upstream subscription connections: WS_MAX_OPERATIONS, … (subscriptions/config.ts). */
  ...subscriptionEnv,
  /** Persisted operations: TRUSTED_DOCUMENTS, PERSISTED_ONLY, APQ_CACHE_MEMORY_MB, APQ_TTL_SECONDS (trusted-documents.ts). */
  ...trustedDocumentsEnv,
  /** Cache sizes and warm-up: QUERY_PLAN_CACHE_MB, DOCUMENT_CACHE_MB, PLAN_WARM_UP (plan-cache/config.ts); OPERATION_DEDUP (single-flight/). */
  ...planCacheEnv,
  ...singleFlightEnv,
  /** Response cache for public data: RESPONSE_CACHE, RESPONSE_CACHE_MEMORY_MB, … (response-cache/config.ts). */
  ...responseCacheEnv,
  /** Prometheus metrics: METRICS, METRICS_PATH, METRICS_PORT (metrics/config.ts). */
  ...metricsEnv,
  /** Browser origins allowed to call the gateway from another origin (comma-separated; `*` for any). Unset: no CORS. */
  CORS_ORIGINS: env.list().optional(),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & {
  /** Per-subgraph secrets and URL overrides, from SUBGRAPH_SECRET_<NAME> / SUBGRAPH_URL_<NAME>. */
  subgraphSecrets: Record<string, string>;
  subgraphUrls: Record<string, string>;
};

export function loadGatewayConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSchema, source);
  const perSubgraph = (prefix: string) =>
    Object.fromEntries(
      Object.entries(source)
        .filter(([key, value]) => key.startsWith(prefix) && value)
        .map(([key, value]) => [key.slice(prefix.length).toLowerCase(), value!]),
    );
  if (config.NODE_ENV === 'production' && config.SUBGRAPH_SECRET === 'dev-only-subgraph-secret-change-me') {
    throw new Error('SUBGRAPH_SECRET: set a secret of your own in production (the development default is public)');
  }
  // SUBGRAPH_URL_<NAME> may list several instances (transport/instances.ts): a typo stops the start, naming the key.
  const subgraphUrls = perSubgraph('SUBGRAPH_URL_');
  validateSubgraphUrls(subgraphUrls);
  return { ...config, subgraphSecrets: perSubgraph('SUBGRAPH_SECRET_'), subgraphUrls };
}
