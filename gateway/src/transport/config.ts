import { ConfigError, env } from '@storefront/platform/config';
import { trafficShapingEnv } from './traffic-config.ts';

/**
 * Settings of the gateway's subgraph transport (spread into the gateway's
 * config schema). Timeouts, retries, circuit breakers, pool sizes and health
 * checks are per subgraph, in the traffic-shaping file (traffic-config.ts);
 * SUBGRAPH_URL_<NAME> lists a subgraph's instances (instances.ts).
 */
export const subgraphTransportEnv = {
  /** Where timeouts, retries, breakers and pool sizes per subgraph are read from (gateway/traffic.yaml). */
  ...trafficShapingEnv,
  SUBGRAPH_DEDUP: env
    .bool(true)
    .describe('Identical query fetches in flight (same subgraph, body and caller) share one request.'),
};

/** Variables that used to set what traffic.yaml now sets for every subgraph, and the key that took their place. */
const MOVED: Record<string, string> = {
  SUBGRAPH_TIMEOUT_MS: 'all.timeouts.total_ms (and all.timeouts.request_ms per attempt)',
  SUBGRAPH_CONNECT_TIMEOUT_MS: 'all.timeouts.connect_ms',
  SUBGRAPH_MAX_CONNECTIONS: 'all.pool.max_connections',
  SUBGRAPH_HEALTH_INTERVAL_MS: 'all.health_check.interval_ms',
};

/**
 * A deployment that still sets a moved variable would otherwise run with the
 * defaults without a word: the start is refused, naming the key to use.
 */
export function refuseMovedSettings(source: Record<string, string | undefined>): void {
  const problems = Object.entries(MOVED)
    .filter(([name]) => source[name] !== undefined && source[name] !== '')
    .map(([name, key]) => `${name}: no longer read; set ${key} in the traffic-shaping file (TRAFFIC_SHAPING_CONFIG)`);
  if (problems.length > 0) throw new ConfigError(problems);
}

/** What the transport reads of the gateway's config. */
export interface TransportConfig {
  SUBGRAPH_DEDUP: boolean;
  SUBGRAPH_SECRET: string;
  /** SUBGRAPH_SECRET_<NAME>, by subgraph. */
  subgraphSecrets: Record<string, string>;
  /** SUBGRAPH_URL_<NAME>, by subgraph. */
  subgraphUrls: Record<string, string>;
}
