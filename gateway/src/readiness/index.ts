import { createHash } from 'node:crypto';
import { env } from '@storefront/platform/config';
import type { ConsumerState } from '@storefront/platform/events';
import type { StoreState } from '../backends/index.ts';
import type { Supergraph } from '../supergraph/index.ts';

/**
 * What the gateway's GET /readyz answers: the status code load balancers and
 * Kubernetes act on, and the checks behind it as JSON:
 *
 *   { "status": "degraded",
 *     "supergraph": { "loaded": true, "subgraphs": 4, "id": "3f9c0a1b2c4d" },
 *     "subgraphs": { "products": { "instances": 2, "healthyInstances": 2 },
 *                    "orders": { "instances": 1, "healthyInstances": 0 }, … },
 *     "redis": "connected",
 *     "consumers": { "revocations": "running", "catalog-changes": "running" } }
 *
 * 503 ("not ready", "draining") when the instance itself cannot serve: no
 * supergraph loaded, shutting down, or one of its consumers `stopped` (the
 * bus gave up on it and it is being started again; a stopped revocation feed
 * would let revoked tokens through on this instance only).
 *
 * 200 "degraded" when something it depends on is down but the instance
 * still serves what it can: a subgraph with no healthy instance, Redis
 * unreachable (state falls back to this instance's memory), a consumer
 * `restarting` after a Kafka error. These are shared by every gateway
 * replica: a 503 for them would take every replica out at once and turn a
 * broken subgraph into a dark API — the queries that never touch it, and the
 * partial answers (data from the healthy subgraphs, a SUBGRAPH_UNAVAILABLE
 * error for the rest) a client can still use, would get connection errors
 * instead. READINESS_REQUIRE_SUBGRAPHS=true makes a subgraph without a healthy
 * instance a 503, for deployments where another cluster's gateways (behind a
 * global load balancer) can take the traffic.
 */
export const readinessEnv = {
  READINESS_REQUIRE_SUBGRAPHS: env
    .bool(false)
    .describe(
      'GET /readyz answers 503 while a subgraph has no healthy instance (else 200 "degraded"). Only where another set of gateways can take the traffic: every replica sees the same subgraphs and would go unready at once.',
    ),
};

export interface ReadinessConfig {
  READINESS_REQUIRE_SUBGRAPHS: boolean;
}

export interface ReadinessSources {
  draining(): boolean;
  supergraph(): Supergraph | undefined;
  subgraphs(): Record<string, { instances: number; healthyInstances: number }>;
  store(): StoreState;
  /** The gateway's own consumers by role; undefined: not running here (no bus, or the feature is off). */
  consumers(): Record<string, ConsumerState | undefined>;
}

export interface GatewayReadiness {
  status: 'ready' | 'degraded' | 'not ready' | 'draining';
  supergraph: { loaded: boolean; subgraphs?: number; id?: string };
  subgraphs: Record<string, { instances: number; healthyInstances: number }>;
  redis: StoreState;
  consumers: Record<string, ConsumerState>;
}

export function gatewayReadiness(
  config: ReadinessConfig,
  sources: ReadinessSources,
): () => { statusCode: number; body: GatewayReadiness } {
  const idOf = supergraphId();
  return () => {
    const supergraph = sources.supergraph();
    const subgraphs = sources.subgraphs();
    // Every subgraph of the supergraph, also one no request has needed yet.
    for (const { name } of supergraph?.subgraphs ?? []) subgraphs[name] ??= { instances: 0, healthyInstances: 0 };
    const consumers = Object.fromEntries(
      Object.entries(sources.consumers()).filter((entry): entry is [string, ConsumerState] => entry[1] !== undefined),
    );
    const redis = sources.store();
    const subgraphDown = Object.values(subgraphs).some((s) => s.healthyInstances === 0);
    const unready =
      !supergraph ||
      Object.values(consumers).includes('stopped') ||
      (config.READINESS_REQUIRE_SUBGRAPHS && subgraphDown);
    const degraded =
      subgraphDown ||
      redis === 'unreachable (in-memory fallback)' ||
      Object.values(consumers).some((state) => state !== 'running');
    const status = sources.draining() ? 'draining' : unready ? 'not ready' : degraded ? 'degraded' : 'ready';
    return {
      statusCode: status === 'ready' || status === 'degraded' ? 200 : 503,
      body: {
        status,
        supergraph: supergraph
          ? { loaded: true, subgraphs: supergraph.subgraphs.length, id: idOf(supergraph) }
          : { loaded: false },
        subgraphs,
        redis,
        consumers,
      },
    };
  };
}

/** A short hash of the supergraph served, so replicas serving different versions (a rollout) can be told apart. */
function supergraphId(): (supergraph: Supergraph) => string {
  let of: Supergraph | undefined;
  let id = '';
  return (supergraph) => {
    if (supergraph !== of) {
      of = supergraph;
      id = createHash('sha256').update(supergraph.sdl).digest('hex').slice(0, 12);
    }
    return id;
  };
}
