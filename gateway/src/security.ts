import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { audit, auditSampler } from '@storefront/platform/audit';
import type { ConsumerHandle, EventBus } from '@storefront/platform/events/bus';
import { KafkaEventBus } from '@storefront/platform/events/kafka-bus';
import type { Logger } from '@storefront/platform/logger';
import { openStore, type KeyValueStore } from '@storefront/platform/store/open';
import { createAccessTokenVerifier, type TokenCheck } from './access-token.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayContext } from './context.ts';
import { clientAddress } from './rate-limit/client-address.ts';
import { DEFAULT_RATE_LIMITS_FILE, loadRateLimits } from './rate-limit/config.ts';
import { createRateLimiter } from './rate-limit/limiter.ts';
import { rateLimitPlugin } from './rate-limit/plugin.ts';
import { rootFieldRoutes } from './rate-limit/routes.ts';
import { consumeRevocations, createRevocationList } from './revocation.ts';
import type { Supergraph } from './supergraph.ts';

/**
 * Who the caller is and how much they may ask: access-token verification
 * (with the revocation list fed from user-events) and rate limiting, over one
 * store (Redis, or in process). Built once at start; bad rate-limit config
 * stops the start with a message naming the key.
 */
export interface GatewaySecurity {
  /**
   * Verifies the request's access token (or `authorization`, when it came
   * another way, e.g. a WebSocket's connectionParams); refusals are audited.
   */
  authenticate(req: IncomingMessage, authorization?: string): Promise<TokenCheck>;
  /** The address rate limits key anonymous callers by. */
  clientIp(req: IncomingMessage): string;
  plugin: ApolloServerPlugin<GatewayContext>;
  /** The store of rate limits and revocations (Redis or in process), for other shared state (caches). */
  store: KeyValueStore;
  /** The event bus the gateway listens on (Kafka, or the embedded in-process bus); undefined when there is none. */
  bus: EventBus | undefined;
  stop(): Promise<void>;
}

export async function startGatewaySecurity(options: {
  config: GatewayConfig;
  supergraph: Supergraph;
  jwksUrl: string;
  logger: Logger;
  /** The in-process bus of the embedded default; with KAFKA_BROKERS the gateway opens its own. */
  bus?: EventBus;
}): Promise<GatewaySecurity> {
  const { config, logger } = options;
  const routes = rootFieldRoutes(options.supergraph.sdl);
  const rateLimits = loadRateLimits(config.RATE_LIMITS_CONFIG, routes);

  const store = openStore({ redisUrl: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX }, logger);
  const revocations = createRevocationList(store, {
    // A revoked token lives at most this long after its revocation.
    ttlSeconds: config.ACCESS_TOKEN_MAX_TTL_SECONDS + config.JWT_CLOCK_TOLERANCE_SECONDS + 5,
  });
  const ownBus =
    !options.bus && config.KAFKA_BROKERS
      ? new KafkaEventBus(
          { brokers: config.KAFKA_BROKERS, clientId: 'gateway', prefix: config.KAFKA_TOPIC_PREFIX },
          logger.child({ component: 'kafka' }),
        )
      : undefined;
  const bus = options.bus ?? ownBus;
  let feed: ConsumerHandle | undefined;
  const stop = async () => {
    await feed?.stop();
    await ownBus?.close();
    await revocations.close();
    await store.close();
  };
  try {
    if (bus) feed = await consumeRevocations(bus, revocations, logger.child({ component: 'revocations' }));
    else logger.warn('no event bus: logged-out sessions keep working until their access tokens expire');
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }

  const tokens = createAccessTokenVerifier({
    jwksUrl: options.jwksUrl,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    maxTtlSeconds: config.ACCESS_TOKEN_MAX_TTL_SECONDS,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    jwksCacheSeconds: config.JWKS_CACHE_SECONDS,
    revocations,
    logger,
  });
  const limiter = createRateLimiter({
    config: rateLimits,
    routes,
    store,
    keySecret: `rate-limit:${config.SUBGRAPH_SECRET}`,
    logger,
  });
  const clientIp = (req: IncomingMessage) => clientAddress(req, config.TRUST_PROXY_HOPS);
  const auditRejection = auditSampler();

  logger.info(
    {
      store: config.REDIS_URL ? 'redis' : 'memory',
      revocations: bus ? bus.kind : 'off',
      rateLimits: rateLimits.enabled ? (config.RATE_LIMITS_CONFIG ?? DEFAULT_RATE_LIMITS_FILE) : 'disabled',
    },
    'tokens and rate limits ready',
  );
  return {
    clientIp,
    plugin: rateLimitPlugin(limiter),
    store,
    bus,
    stop,
    async authenticate(req, authorization = req.headers.authorization) {
      const check = await tokens.verify(authorization);
      if (!check.ok) {
        const ip = clientIp(req);
        if (auditRejection(`${ip}|${check.reason}`))
          audit(logger, 'token_rejected', { kind: 'access', reason: check.reason, ip });
      }
      return check;
    },
  };
}
