import { env } from '@storefront/platform/config';

/**
 * Settings of the gateway's subgraph transport (spread into the gateway's
 * config schema). SUBGRAPH_TIMEOUT_MS (the total time a fetch may take) is in
 * gateway/src/config.ts; SUBGRAPH_URL_<NAME> lists a subgraph's instances
 * (instances.ts).
 */
export const subgraphTransportEnv = {
  /** Time to open a connection to an instance (capped by SUBGRAPH_TIMEOUT_MS); past it, another instance is tried. */
  SUBGRAPH_CONNECT_TIMEOUT_MS: env.int(2_000, 10),
  /** Keep-alive connections per subgraph instance; requests beyond wait in the pool's queue. */
  SUBGRAPH_MAX_CONNECTIONS: env.int(64, 1),
  /** How often each instance of a subgraph with several is checked (GET /readyz). */
  SUBGRAPH_HEALTH_INTERVAL_MS: env.int(5_000, 50),
  /** Identical query fetches in flight (same subgraph, body and caller) share one request. */
  SUBGRAPH_DEDUP: env.bool(true),
};

/** What the transport reads of the gateway's config. */
export interface TransportConfig {
  SUBGRAPH_TIMEOUT_MS: number;
  SUBGRAPH_CONNECT_TIMEOUT_MS: number;
  SUBGRAPH_MAX_CONNECTIONS: number;
  SUBGRAPH_HEALTH_INTERVAL_MS: number;
  SUBGRAPH_DEDUP: boolean;
  SUBGRAPH_SECRET: string;
  /** SUBGRAPH_SECRET_<NAME>, by subgraph. */
  subgraphSecrets: Record<string, string>;
  /** SUBGRAPH_URL_<NAME>, by subgraph. */
  subgraphUrls: Record<string, string>;
}
