import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '@storefront/platform/logger';
import type { KeyValueStore } from '@storefront/platform/store';
import type { GatewayContext } from '../context.ts';
import { clientAddress } from './client-address.ts';
import { DEFAULT_RATE_LIMITS_FILE, loadRateLimits } from './config.ts';
import { createRateLimiter } from './limiter.ts';
import { rateLimitPlugin } from './plugin.ts';
import { rootFieldRoutes } from './routes.ts';

export { rateLimitEnv } from './config.ts';

/**
 * How much a caller may ask: token buckets per route (the subgraph owning an
 * operation's root fields) and per root field, from the rate-limit file,
 * kept in the shared store so every instance counts together. Bad rate-limit
 * config stops the start with a message naming the key.
 */
export interface RateLimits {
  /** Refuses an operation over its limits with RATE_LIMITED (HTTP 429, Retry-After). */
  plugin: ApolloServerPlugin<GatewayContext>;
  /** The address rate limits key anonymous callers by (TRUST_PROXY_HOPS decides how much of X-Forwarded-For counts). */
  clientIp: (req: IncomingMessage) => string;
  /** The file the limits came from, or "disabled" (for the start log). */
  source: string;
  /**
   * Routes root fields by a new supergraph's join directives (a reload, supergraph/source.ts): a root
   * field it adds is limited by its subgraph's route, not the gateway's. Returns the switch to it.
   */
  prepareSupergraph(supergraphSdl: string): () => void;
}

export function startRateLimits(options: {
  config: { RATE_LIMITS_CONFIG?: string | undefined; TRUST_PROXY_HOPS: number; SUBGRAPH_SECRET: string };
  supergraphSdl: string;
  store: KeyValueStore;
  logger: Logger;
}): RateLimits {
  const { config } = options;
  const routes = rootFieldRoutes(options.supergraphSdl);
  const rateLimits = loadRateLimits(config.RATE_LIMITS_CONFIG, routes);
  const limiter = createRateLimiter({
    config: rateLimits,
    routes,
    store: options.store,
    keySecret: `rate-limit:${config.SUBGRAPH_SECRET}`,
    logger: options.logger,
  });
  return {
    plugin: rateLimitPlugin(limiter),
    clientIp: (req) => clientAddress(req, config.TRUST_PROXY_HOPS),
    source: rateLimits.enabled ? (config.RATE_LIMITS_CONFIG ?? DEFAULT_RATE_LIMITS_FILE) : 'disabled',
    prepareSupergraph: (supergraphSdl) => {
      const next = rootFieldRoutes(supergraphSdl);
      // In place: the limiter reads the same object on every check. The limits themselves were checked at start.
      return () => void Object.assign(routes, next);
    },
  };
}
