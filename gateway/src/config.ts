import {
  assertOwnSubgraphSecret,
  env,
  loadConfig,
  processEnv,
  shutdownEnv,
  subgraphSecretEnv,
} from '@storefront/platform/config';
import { z } from 'zod';
import { accessLogEnv } from './access-log/index.ts';
import { authEnv, identityProvidersEnv } from './auth/index.ts';
import { backendsEnv } from './backends/index.ts';
import { entityCacheEnv, planCacheEnv, responseCacheEnv, trustedDocumentsEnv } from './caching/index.ts';
import { operationDedupEnv } from './execution/index.ts';
import { headersEnv } from './headers/index.ts';
import { httpEnv } from './http/index.ts';
import { operationLimitsEnv } from './limits/index.ts';
import { metricsEnv } from './metrics/index.ts';
import { rateLimitEnv } from './rate-limit/index.ts';
import { readinessEnv } from './readiness/index.ts';
import { subscriptionEnv } from './subscriptions/index.ts';
import { refuseMovedSettings, subgraphTransportEnv, validateSubgraphUrls } from './transport/index.ts';
import { supergraphEnv } from './supergraph/index.ts';
import { tracingEnv } from './tracing/index.ts';

/** Every setting of the gateway, each room's next to the code that reads it. */
export const gatewayConfigSchema = z.object({
  ...processEnv,
  GATEWAY_PORT: env.port(4000).describe('Port of the gateway (HTTP and WebSocket).'),
  /** Where the supergraph comes from and how often it is looked at again: SUPERGRAPH_SDL, SUPERGRAPH_URL, … (supergraph/config.ts). */
  ...supergraphEnv,
  ...subgraphSecretEnv,
  /** Subgraph transport: TRAFFIC_SHAPING_CONFIG (timeouts, retries, breakers, pools per subgraph), SUBGRAPH_DEDUP (transport/config.ts). */
  ...subgraphTransportEnv,
  MAX_BODY_BYTES: env
    .int(256 * 1024, 1024)
    .describe('Largest request body accepted, after decompression (413 PAYLOAD_TOO_LARGE beyond).'),
  ...shutdownEnv,
  /** What GET /readyz requires: READINESS_REQUIRE_SUBGRAPHS (readiness/index.ts). */
  ...readinessEnv,
  /** One JSON line per HTTP request: ACCESS_LOG (access-log/index.ts). */
  ...accessLogEnv,
  INTROSPECTION: env.optionalBool().describe('Answer introspection queries. Unset: on, except in production.'),
  /** Operation limits: LIMIT_MAX_DEPTH, LIMIT_MAX_COST, … (limits/config.ts). */
  ...operationLimitsEnv,
  /** Access tokens: JWKS_URL, JWT_ISSUER, ACCESS_TOKEN_MAX_TTL_SECONDS, … (auth/config.ts). */
  ...authEnv,
  /** External OpenID Connect issuers: IDENTITY_PROVIDERS (auth/identity-providers.ts). */
  ...identityProvidersEnv,
  /** Rate limits: RATE_LIMITS_CONFIG, TRUST_PROXY_HOPS (rate-limit/config.ts). */
  ...rateLimitEnv,
  /** Shared store and event bus: REDIS_URL, REDIS_KEY_PREFIX, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX (backends/config.ts). */
  ...backendsEnv,
  /** WebSocket endpoint and upstream subscription connections: WS_MAX_OPERATIONS, … (subscriptions/config.ts). */
  ...subscriptionEnv,
  /** Persisted operations: TRUSTED_DOCUMENTS, PERSISTED_ONLY, APQ_CACHE_MEMORY_MB, APQ_TTL_SECONDS (caching/trusted-documents.ts). */
  ...trustedDocumentsEnv,
  /** Cache sizes and warm-up: QUERY_PLAN_CACHE_MB, DOCUMENT_CACHE_MB, PLAN_WARM_UP (caching/plan-cache/config.ts). */
  ...planCacheEnv,
  /** Identical in-flight queries share one execution: OPERATION_DEDUP (execution/operation-dedup.ts). */
  ...operationDedupEnv,
  /** Response cache for public data: RESPONSE_CACHE, RESPONSE_CACHE_MEMORY_MB, … (caching/response-cache/config.ts). */
  ...responseCacheEnv,
  /** Public entities reused across queries: ENTITY_CACHE, ENTITY_CACHE_MEMORY_MB, … (caching/entity-cache/config.ts). */
  ...entityCacheEnv,
  /** Prometheus metrics: METRICS, METRICS_PATH, METRICS_PORT (metrics/config.ts). */
  ...metricsEnv,
  /** The HTTP edge for apps and developers: GRAPHIQL, HTTP_MAX_STREAMS_PER_CALLER, COMPRESSION, … (http/). */
  ...httpEnv,
  /** Header propagation to and from the subgraphs: HEADERS_CONFIG (headers/). */
  ...headersEnv,
  CORS_ORIGINS: env
    .list()
    .optional()
    .describe('Browser origins allowed to call from another origin (comma-separated, or `*`). Unset: no CORS headers.'),
  /** Tracing: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, …, TRACE_CLIENT_CONTEXT (tracing/); off when unset. */
  ...tracingEnv,
  APOLLO_TELEMETRY: env
    .bool(false)
    .describe(
      "Let @apollo/gateway send Apollo its usage data (hourly and on stop, to usage-reporting.api.apollographql.com: the host's OS, architecture and CPU, the cloud it runs in, found by asking the cloud providers' metadata endpoints at start, and its uptime). Off by default: this gateway reports to no one but your own telemetry.",
    ),
});

/** Keys read by pattern, one per subgraph (loadGatewayConfig); the configuration reference lists them too. */
export const gatewayKeyPatterns = [
  {
    key: 'SUBGRAPH_SECRET_<NAME>',
    description: 'SUBGRAPH_SECRET for one subgraph (e.g. SUBGRAPH_SECRET_ORDERS), where each has a secret of its own.',
  },
  {
    key: 'SUBGRAPH_URL_<NAME>',
    description:
      'Where one subgraph runs, instead of its routing URL in supergraph.yaml: a comma-separated list balances over instances, each with an optional `weight=1..1000`.',
  },
] as const;

export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & {
  /** Per-subgraph secrets and URL overrides, from SUBGRAPH_SECRET_<NAME> / SUBGRAPH_URL_<NAME>. */
  subgraphSecrets: Record<string, string>;
  subgraphUrls: Record<string, string>;
};

export function loadGatewayConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  refuseMovedSettings(source);
  const config = loadConfig(gatewayConfigSchema, source);
  const perSubgraph = (prefix: string) =>
    Object.fromEntries(
      Object.entries(source)
        .filter(([key, value]) => key.startsWith(prefix) && value)
        .map(([key, value]) => [key.slice(prefix.length).toLowerCase(), value!]),
    );
  assertOwnSubgraphSecret(config);
  // SUBGRAPH_URL_<NAME> may list several instances (transport/instances.ts): a typo stops the start, naming the key.
  const subgraphUrls = perSubgraph('SUBGRAPH_URL_');
  validateSubgraphUrls(subgraphUrls);
  return { ...config, subgraphSecrets: perSubgraph('SUBGRAPH_SECRET_'), subgraphUrls };
}
