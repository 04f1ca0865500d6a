import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { createLogger, type Logger } from '@storefront/platform/logger';
import { graphqlHttpHandler, refuse, sendJson } from '@storefront/platform/server/http';
import { listen } from '@storefront/platform/server/listen';
import { maskErrors } from '@storefront/platform/server/format-error';
import type { EventBus } from '@storefront/platform/events/bus';
import type { GatewayConfig } from './config.ts';
import type { GatewayContext } from './context.ts';
import { operationLimits } from './limits/index.ts';
import { startGatewaySecurity } from './security.ts';
import { loadTrustedDocuments } from './trusted-documents.ts';
import { createSignedDataSource } from './subgraph-transport.ts';
import { federatedSubscriptions, type SubscriptionStats } from './subscriptions/index.ts';
import { composeFromConfig, readSupergraphSdl, type Supergraph } from './supergraph.ts';

export { loadGatewayConfig, type GatewayConfig } from './config.ts';
export { CompositionError } from './supergraph.ts';

export interface RunningGateway {
  url: string;
  port: number;
  supergraph: Supergraph;
  /** Requests sent to each subgraph so far. */
  subgraphFetches(): Record<string, number>;
  /** Sockets, client subscriptions and the upstream subscriptions they hold (tests, metrics). */
  subscriptions: SubscriptionStats;
  stop(): Promise<void>;
}

export function loadSupergraph(config: GatewayConfig): Supergraph {
  return config.SUPERGRAPH_SDL
    ? readSupergraphSdl(resolve(config.SUPERGRAPH_SDL), config.subgraphUrls)
    : composeFromConfig(resolve(config.SUPERGRAPH_CONFIG), config.subgraphUrls);
}

/**
 * The gateway: one endpoint for web and mobile apps. It composes (or reads)
 * the supergraph, verifies the caller's access token, plans each operation
 * with Apollo's query planner and calls the subgraphs, signing each call.
 */
export async function startGateway(config: GatewayConfig, options: { logger?: Logger; bus?: EventBus } = {}): Promise<RunningGateway> {
  const logger = (options.logger ?? createLogger({ name: 'storefront', level: config.LOG_LEVEL })).child({ service: 'gateway' });
  const production = config.NODE_ENV === 'production';
  const limits = operationLimits(config, { production });
  const trusted = loadTrustedDocuments(config);
  const supergraph = loadSupergraph(config);

  const usersUrl = supergraph.subgraphs.find((s) => s.name === 'users')?.url;
  const jwksUrl = config.JWKS_URL ?? (usersUrl ? new URL('/.well-known/jwks.json', usersUrl).toString() : undefined);
  if (!jwksUrl) throw new Error('JWKS_URL: required when the supergraph has no "users" subgraph to take it from');
  const security = await startGatewaySecurity({ config, supergraph, jwksUrl, logger, bus: options.bus });
  const subscriptions = federatedSubscriptions({ config, supergraph, logger });

  const fetches: Record<string, number> = {};
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger: logger.child({ component: 'apollo-gateway' }),
    buildService: ({ name, url }) =>
      subscriptions.dataSource(name, createSignedDataSource({
        name,
        url: config.subgraphUrls[name] ?? url!,
        secret: config.subgraphSecrets[name] ?? config.SUBGRAPH_SECRET,
        timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
        onFetch: () => void (fetches[name] = (fetches[name] ?? 0) + 1),
      })),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway: subscriptions.admit(gateway),
    introspection: config.INTROSPECTION ?? !production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError: limits.formatError(maskErrors(logger)),
    parseOptions: limits.parseOptions,
    validationRules: limits.validationRules,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    persistedQueries: { cache: trusted.cache },
    // Shutdown is one ordered sequence owned by the process (server/main.ts), not Apollo's own signal handlers.
    stopOnTerminationSignals: false,
    plugins: [...limits.plugins, security.plugin, ...(trusted.plugin ? [trusted.plugin] : []), ...(production ? [ApolloServerPluginLandingPageDisabled()] : [])],
  });
  await apollo.start();

  const handler = graphqlHttpHandler<GatewayContext>(apollo, {
    maxBodyBytes: config.MAX_BODY_BYTES,
    routes: (req, res) => {
      if (req.url === '/healthz' || req.url === '/readyz') return sendJson(res, 200, { status: 'ok' }), true;
      return false;
    },
    context: async (req) => {
      const check = await security.authenticate(req);
      if (!check.ok) return refuse(401, 'UNAUTHENTICATED', check.message, { 'www-authenticate': 'Bearer' });
      const requestId = randomUUID();
      return { identity: check.identity, requestId, clientIp: security.clientIp(req), logger: logger.child({ requestId }) };
    },
  });
  const http = await listen(handler, { port: config.GATEWAY_PORT, host: config.HOST });
  subscriptions.serve({
    server: http.server,
    apollo,
    formatError: limits.formatError(maskErrors(logger)),
    // A socket's token comes in connectionParams; the rest (client address) is the upgrade request's.
    authenticate: (authorization, req) => security.authenticate(Object.create(req, { headers: { value: { ...req.headers, authorization } } })),
    createContext: (identity, req, requestId = randomUUID()) => ({ identity, requestId, clientIp: security.clientIp(req), logger: logger.child({ requestId }) }),
  });
  logger.info({ url: http.url, subgraphs: supergraph.subgraphs }, 'gateway ready');

  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    port: http.port,
    supergraph,
    subgraphFetches: () => ({ ...fetches }),
    subscriptions: subscriptions.stats,
    stop: () =>
      (stopping ??= (async () => {
        await subscriptions.close();
        await http.close();
        await apollo.stop();
        await security.stop();
      })()),
  };
}
