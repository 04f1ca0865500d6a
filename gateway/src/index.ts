import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { createLogger, type Logger } from '@storefront/platform/logger';
import { graphqlHttpHandler, listen, operationInputPlugin, refuse, sendJson } from '@storefront/platform/server';
import type { EventBus } from '@storefront/platform/events';
import { createAccessLog } from './access-log/index.ts';
import { keySetUrl, startAuthentication } from './auth/index.ts';
import { directiveAuthorization } from './authorization/index.ts';
import { openBackends } from './backends/index.ts';
import {
  createEntityCache,
  deploymentFingerprint,
  followCatalogChanges,
  loadTrustedDocuments,
  planCaches,
  startResponseCache,
  type CacheStats,
  type CatalogGeneration,
  type EntityCache,
  type EntityCacheStats,
  type ResponseCacheStats,
} from './caching/index.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayContext } from './context.ts';
import { gatewayFormatError, requestIdOnErrors } from './errors/index.ts';
import { clientOf, loadHeaderRules } from './headers/index.ts';
import { gatewayHttp, graphiqlRoute } from './http/index.ts';
import { operationDedup, stringifyAnswer, type OperationDedupStats } from './execution/index.ts';
import { operationLimits } from './limits/index.ts';
import { createGatewayMetrics, listenForMetrics, operationNamesOf, type GatewayMetrics } from './metrics/index.ts';
import { startRateLimits } from './rate-limit/index.ts';
import { gatewayReadiness } from './readiness/index.ts';
import { federatedSubscriptions, type SubscriptionStats } from './subscriptions/index.ts';
import { openSupergraph, type ReloadOutcome, type Supergraph } from './supergraph/index.ts';
import {
  createSubgraphTransport,
  readTrafficShapingFile,
  type SubgraphFetchEvent,
  type TrafficReloadOutcome,
} from './transport/index.ts';
import { startGatewayTracing, traceIdsOf } from './tracing/index.ts';
import { requestIdOf, withRequestId } from '@storefront/platform/telemetry';

export { gatewayConfigSchema, gatewayKeyPatterns, loadGatewayConfig, type GatewayConfig } from './config.ts';
export { CompositionError, composeFromConfig, enforcedHere, openSupergraph } from './supergraph/index.ts';
export { compressors as answerCompressors } from './http/index.ts';
export {
  loadTrafficShaping,
  parseTrafficShaping,
  SHAPING_DEFAULTS,
  type SubgraphFetchEvent,
  type SubgraphShaping,
} from './transport/index.ts';

export interface RunningGateway {
  url: string;
  port: number;
  /** The supergraph served now (SUPERGRAPH_SDL and SUPERGRAPH_URL are reloaded: see supergraph/source.ts). */
  readonly supergraph: Supergraph;
  /** Requests sent to each subgraph so far. */
  subgraphFetches(): Record<string, number>;
  /** Sockets, client subscriptions and the upstream subscriptions they hold (tests, metrics). */
  subscriptions: SubscriptionStats;
  /** Response-cache lookups (hits, misses) and stores so far (tests, metrics). */
  responseCacheStats(): ResponseCacheStats;
  /** Entity-cache lookups and stores so far (all 0 when it is off). */
  entityCacheStats(): EntityCacheStats;
  /** Query-plan and parsed-document cache hits, misses and entries, counted since ready (caching/plan-cache/). */
  planCache(): CacheStats;
  documentCache(): CacheStats;
  /** Identical in-flight queries sharing one execution (execution/operation-dedup.ts). */
  operationDedup: OperationDedupStats;
  /** Prometheus metrics (no-ops with METRICS=false); `metrics.gauge()`/`counter()` register more. */
  metrics: GatewayMetrics;
  /** Where the metrics are served: METRICS_PORT's listener, or METRICS_PATH on the gateway's port. */
  metricsUrl?: string;
  stop: () => Promise<void>;
}

/**
 * The gateway: one endpoint for web and mobile apps. It composes (or reads)
 * the supergraph, verifies the caller's access token, plans each operation
 * with Apollo's query planner and calls the subgraphs, signing each call.
 */
export async function startGateway(
  config: GatewayConfig,
  options: {
    logger?: Logger;
    bus?: EventBus;
    /** Each request to a subgraph instance, when it ends (tests). */ onSubgraphFetch?: (
      event: SubgraphFetchEvent,
    ) => void;
  } = {},
): Promise<RunningGateway> {
  const logger = (options.logger ?? createLogger({ name: 'storefront', level: config.LOG_LEVEL })).child({
    service: 'gateway',
  });
  const production = config.NODE_ENV === 'production';
  const limits = operationLimits(config);
  const formatError = gatewayFormatError(logger, { production });
  const trusted = loadTrustedDocuments(config);
  const caches = planCaches(config, { documents: trusted.documents, logger });
  const dedup = operationDedup({ enabled: config.OPERATION_DEDUP });
  const source = await openSupergraph(config, logger);
  // What is set up once, at start (header rules, traffic shaping, rate-limit routes, auth), reads the first supergraph.
  const supergraph = source.current();
  const headerRules = loadHeaderRules(
    config.HEADERS_CONFIG,
    supergraph.subgraphs.map((s) => s.name),
  );
  // Timeouts, retries, circuit breakers and pool sizes per subgraph (transport/traffic-config.ts).
  const trafficFile = readTrafficShapingFile(
    config.TRAFFIC_SHAPING_CONFIG,
    supergraph.subgraphs.map((s) => s.name),
  );
  const jwksUrl = keySetUrl(config, supergraph);

  // Stopped in the reverse order: each may consume from the bus or write to the store.
  const backends = openBackends({ config, logger, bus: options.bus });
  const started: { stop(): Promise<void> }[] = [{ stop: backends.close }];
  const stopStarted = async () => {
    for (const part of started.reverse()) await part.stop();
  };
  const { store, bus } = backends;
  let rateLimits, auth, responseCache;
  let catalog: CatalogGeneration | undefined;
  let entityCache: EntityCache | undefined;
  // Off (and free) unless OTEL_EXPORTER_OTLP_ENDPOINT is set; stopped last, after everything it traced.
  const tracing = await startGatewayTracing(config);
  started.unshift({ stop: () => tracing.shutdown() });
  try {
    rateLimits = startRateLimits({ config, supergraphSdl: supergraph.sdl, store, logger });
    const usersUrl = supergraph.subgraphs.find((s) => s.name === 'users')?.url;
    auth = await startAuthentication({
      config,
      jwksUrl,
      ...(usersUrl ? { users: { url: usersUrl, secret: config.subgraphSecrets.users ?? config.SUBGRAPH_SECRET } } : {}),
      store,
      bus,
      clientIp: rateLimits.clientIp,
      logger,
    });
    started.push(auth);
    logger.info(
      {
        store: config.REDIS_URL ? 'redis' : 'memory',
        revocations: bus ? bus.kind : 'off',
        rateLimits: rateLimits.source,
      },
      'tokens and rate limits ready',
    );
    // One feed of catalog changes drops what both caches keep; without a bus neither may keep anything.
    if (bus && (config.RESPONSE_CACHE || config.ENTITY_CACHE)) {
      catalog = await followCatalogChanges({ bus, store, logger: logger.child({ component: 'catalog-changes' }) });
      started.push(catalog);
    }
    responseCache = startResponseCache({ config, store, catalog, supergraph: source.current, logger });
    if (config.ENTITY_CACHE && catalog) {
      const changes = catalog;
      entityCache = createEntityCache({
        config,
        generation: () => changes.current(),
        deployment: deploymentFingerprint(source.current),
      });
      logger.info(
        { memoryMb: config.ENTITY_CACHE_MEMORY_MB, maxAgeSeconds: config.ENTITY_CACHE_MAX_AGE_SECONDS },
        'entity cache ready',
      );
    } else if (config.ENTITY_CACHE) {
      logger.warn('no event bus: the entity cache is off, since nothing would drop a product when its price changes');
    }
  } catch (error) {
    await stopStarted().catch(() => {});
    throw error;
  }
  const { clientIp } = rateLimits;
  // Metrics: counted per request by a plugin; subscription figures read when scraped.
  const metrics = createGatewayMetrics(config, operationNamesOf(trusted.documents));
  // One JSON line per HTTP request (access-log/): the GraphQL layer fills in the operation and its fetches.
  const accessLog = createAccessLog({ enabled: config.ACCESS_LOG, logger });
  const fetches: Record<string, number> = {};
  // Subgraph transport (transport/): one data source per subgraph for buildService; closed on stop.
  const trafficReloads: Record<TrafficReloadOutcome, number> = { applied: 0, refused: 0, unreadable: 0 };
  metrics.counter(
    'gateway_traffic_config_reloads_total',
    'Reloads of the traffic-shaping file (TRAFFIC_SHAPING_CONFIG), by outcome: applied, refused (invalid), unreadable (a failing streak).',
    () => ({ ...trafficReloads }),
    'outcome',
  );
  const transport = createSubgraphTransport({
    config,
    shaping: trafficFile.shaping,
    // Reloaded when it changes: instances and weights (blue-green, canary) and every other setting (docs/rollouts.md).
    watch: {
      file: trafficFile,
      intervalMs: config.TRAFFIC_SHAPING_POLL_INTERVAL_MS,
      subgraphs: () => source.current().subgraphs.map((s) => s.name),
    },
    onReload: (outcome) => trafficReloads[outcome]++,
    logger,
    headerRules,
    entityCache,
    onRetry: ({ subgraph, reason }) => metrics.subgraphRetry(subgraph, reason),
    onRetryRefused: ({ subgraph, reason }) => metrics.subgraphRetryRefused(subgraph, reason),
    onCircuitChange: ({ subgraph, instance, to }) => metrics.circuitTransition(subgraph, instance, to),
    onCircuitRefused: ({ subgraph }) => metrics.circuitRefused(subgraph),
    onFetch: (event) => {
      // subgraphFetches() counts requests sent: a refused connection sent none.
      if (event.outcome !== 'unreachable') fetches[event.subgraph] = (fetches[event.subgraph] ?? 0) + 1;
      metrics.subgraphFetch(event.subgraph, event);
      options.onSubgraphFetch?.(event);
    },
  });
  metrics.circuitStates(transport.circuitStates);
  // Subscriptions pick each upstream's subgraph instance through the transport's balancer.
  const subscriptions = federatedSubscriptions({
    config,
    supergraph,
    instances: transport,
    logger,
    ...(tracing.enabled ? { traceEvent: tracing.push.bind(tracing) } : {}),
  });
  metrics.gauge('gateway_websocket_connections', 'Client WebSocket connections open.', subscriptions.stats.connections);
  metrics.gauge(
    'gateway_subscriptions_active',
    'Client subscriptions streaming.',
    subscriptions.stats.clientSubscriptions,
  );
  metrics.gauge(
    'gateway_upstream_subscriptions',
    'Upstream subscriptions open, by subgraph.',
    subscriptions.stats.upstreamSubscriptions,
    'subgraph',
  );
  const reloads: Record<ReloadOutcome, number> = { applied: 0, refused: 0, unreachable: 0 };
  metrics.counter(
    'gateway_supergraph_reloads_total',
    'Supergraph reloads (SUPERGRAPH_SDL, SUPERGRAPH_URL), by outcome: applied, refused (invalid), unreachable (a failing streak).',
    () => ({ ...reloads }),
    'outcome',
  );
  // @apollo/gateway reads this when constructed: without it, it probes cloud metadata endpoints and reports to Apollo.
  if (!config.APOLLO_TELEMETRY) process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    // A function with an `update` callback: ApolloGateway swaps schema, planner and plan cache at once on each new SDL.
    supergraphSdl: source.hook({
      prepare: (next) => {
        const switchSubscriptions = subscriptions.prepareSupergraph(next);
        const switchRateLimitRoutes = rateLimits.prepareSupergraph(next.sdl);
        return () => {
          switchSubscriptions();
          switchRateLimitRoutes();
          rewarmPlans();
        };
      },
      onOutcome: (outcome) => reloads[outcome]++,
    }),
    logger: logger.child({ component: 'apollo-gateway' }),
    // QUERY_PLAN_CACHE_MB's plan cache, and the stop after planning for warm-up runs.
    ...caches.gatewayOptions,
    experimental_didResolveQueryPlan: (resolved) => {
      tracing.didResolveQueryPlan(resolved);
      caches.gatewayOptions.experimental_didResolveQueryPlan?.(resolved);
    },
    buildService: ({ name, url }) =>
      accessLog.dataSource(
        name,
        subscriptions.dataSource(name, tracing.dataSource(name, transport.dataSource(name, url!))),
      ),
  });

  const apollo = new ApolloServer<GatewayContext>({
    // Each wrapper acts at execution, after every plugin (limits, rate limits, a response-cache hit in
    // `responseForOperation`), so plugin order does not matter to them: operation dedup shares identical
    // queries' executions, warm-up runs stop after planning, fields refused by @authenticated and
    // @requiresScopes are filtered out (subscriptions with one are refused), subscriptions leave for the
    // socket server.
    gateway: dedup.admit(caches.admit(directiveAuthorization({ logger }).admit(subscriptions.admit(gateway)))),
    documentStore: caches.documentStore,
    // A shared answer (operation dedup) is serialized once for all who share it; any other as Apollo does.
    stringifyResult: stringifyAnswer,
    introspection: config.INTROSPECTION ?? !production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError,
    parseOptions: limits.parseOptions,
    validationRules: limits.validationRules,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    persistedQueries: trusted.persistedQueries(store),
    // Shutdown is one ordered sequence owned by the process (server/main.ts), not Apollo's own signal handlers.
    stopOnTerminationSignals: false,
    // Order: the response cache after limits, rate limits and trusted documents (they apply to cached answers too),
    // and before any plugin that shares executions (operation dedup): a hit must not wait for one.
    // Inline tracing is for subgraphs (Apollo installs it and checks on every request): off here.
    plugins: [
      // First: an operation that cannot be chosen, or ill-formed strings, end here as the client's 400.
      operationInputPlugin(),
      accessLog.plugin,
      ...metrics.plugins,
      ...tracing.plugins,
      requestIdOnErrors,
      ApolloServerPluginInlineTraceDisabled(),
      ...limits.plugins,
      rateLimits.plugin,
      ...(trusted.plugin ? [trusted.plugin] : []),
      headerRules.plugin,
      ...responseCache.plugins,
      // Apollo's own landing page loads from its CDN: GraphiQL (http/graphiql.ts) is served instead.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  metrics.counter(
    'gateway_response_cache_lookups_total',
    'Response-cache lookups, by result.',
    () => {
      const { hits, misses } = responseCache.stats();
      return { hit: hits, miss: misses };
    },
    'result',
  );
  metrics.counter(
    'gateway_response_cache_stores_total',
    'Answers stored in the response cache.',
    () => responseCache.stats().stores,
  );
  const entityStats = (): EntityCacheStats => entityCache?.stats() ?? { hits: 0, misses: 0, stores: 0 };
  metrics.counter(
    'gateway_entity_cache_lookups_total',
    'Entities looked up in the entity cache, by result (a miss is fetched from its subgraph).',
    () => {
      const { hits, misses } = entityStats();
      return { hit: hits, miss: misses };
    },
    'result',
  );
  metrics.counter(
    'gateway_entity_cache_stores_total',
    'Entities stored in the entity cache.',
    () => entityStats().stores,
  );
  metrics.counter(
    'gateway_query_plan_cache_lookups_total',
    'Query-plan cache lookups, by result.',
    () => hitsAndMisses(caches.stats.plans()),
    'result',
  );
  metrics.counter(
    'gateway_document_cache_lookups_total',
    'Parsed-document cache lookups, by result.',
    () => hitsAndMisses(caches.stats.documents()),
    'result',
  );
  metrics.counter(
    'gateway_operations_shared_total',
    "Requests answered by an identical in-flight query's execution.",
    dedup.stats.shared,
  );
  // Before listening, so the first request of each trusted operation finds its plan cached.
  await caches.warmUp(apollo);
  /** After a supergraph reload, whose swap emptied the plan cache: the trusted documents are planned again. */
  function rewarmPlans(): void {
    void caches.warmUp(apollo).catch((error: unknown) => logger.warn({ err: error }, 'plan warm-up failed'));
  }

  // Set on stop: /readyz answers 503 for SHUTDOWN_DELAY_MS while requests are still served.
  let draining = false;
  // What /readyz answers and why a broken subgraph or Redis does not make it 503 (readiness/).
  const readiness = gatewayReadiness(config, {
    draining: () => draining,
    supergraph: () => source.current(),
    subgraphs: transport.health,
    store: backends.storeState,
    consumers: () => ({ revocations: auth.revocationFeed(), 'catalog-changes': catalog?.state() }),
  });
  const introspection = config.INTROSPECTION ?? !production;
  const graphiql =
    (config.GRAPHIQL ?? !production)
      ? await graphiqlRoute({ path: '/graphql', introspection, development: !production, log: (m) => logger.info(m) })
      : undefined;
  // Subscriptions over HTTP (multipart, SSE) stream through the same federated subscriptions as the socket's.
  const edge = gatewayHttp({ config, subscriptions });
  metrics.gauge(
    'gateway_http_subscriptions',
    'Client subscriptions streaming over HTTP (multipart, SSE).',
    edge.openStreams,
  );
  const handler = graphqlHttpHandler<GatewayContext>(apollo, {
    maxBodyBytes: config.MAX_BODY_BYTES,
    corsOrigins: config.CORS_ORIGINS,
    onRefusal: metrics.refused,
    routes: (req, res) => {
      if (req.url === '/healthz') return (sendJson(res, 200, { status: 'ok' }), true);
      if (req.url === '/readyz') {
        const { statusCode, body } = readiness();
        return (sendJson(res, statusCode, body), true);
      }
      if (graphiql?.(req, res)) return true;
      // Metrics on the public port only when no METRICS_PORT of their own is set.
      return config.METRICS_PORT === undefined && metrics.route(req, res);
    },
    exchange: edge.exchange,
    context: async (req) => {
      const check = await auth.authenticate(req);
      if (!check.ok) return refuse(401, 'UNAUTHENTICATED', check.message, { 'www-authenticate': 'Bearer' });
      const requestId = requestIdOf(req);
      const client = clientOf(req.headers);
      const access = accessLog.recordOf(req);
      const trace = tracing.contextOf(req);
      return {
        identity: check.identity,
        requestId,
        ...(access ? { access } : {}),
        ...(trace ? { trace } : {}),
        clientIp: clientIp(req),
        client,
        logger: logger.child({ requestId, ...(client ? { client } : {}), ...traceIdsOf(trace) }),
      };
    },
  });
  const http = await listen(tracing.http(withRequestId(accessLog.http(handler))), {
    port: config.GATEWAY_PORT,
    host: config.HOST,
    logger,
  });
  const metricsHttp =
    metrics.enabled && config.METRICS_PORT !== undefined
      ? await listenForMetrics(metrics, { port: config.METRICS_PORT, host: config.HOST, path: config.METRICS_PATH })
      : undefined;
  subscriptions.serve({
    server: http.server,
    apollo,
    formatError,
    // A socket's token comes in connectionParams; the rest (client address) is the upgrade request's.
    authenticate: (authorization, req) =>
      auth.authenticate(Object.create(req, { headers: { value: { ...req.headers, authorization } } }) as typeof req),
    createContext: (identity, req, requestId = randomUUID()) => {
      const client = clientOf(req.headers);
      return {
        identity,
        requestId,
        clientIp: clientIp(req),
        client,
        logger: logger.child(client ? { requestId, client } : { requestId }),
      };
    },
    accessLog: accessLog.socketOperation,
  });
  logger.info({ url: http.url, subgraphs: supergraph.subgraphs }, 'gateway ready');

  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    port: http.port,
    get supergraph() {
      return source.current();
    },
    subgraphFetches: () => ({ ...fetches }),
    subscriptions: subscriptions.stats,
    responseCacheStats: responseCache.stats,
    entityCacheStats: entityStats,
    planCache: caches.stats.plans,
    documentCache: caches.stats.documents,
    operationDedup: dedup.stats,
    metrics,
    metricsUrl: metrics.enabled ? (metricsHttp?.url ?? new URL(config.METRICS_PATH, http.url).toString()) : undefined,
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        http.drain();
        if (config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
        // Sockets are told to reconnect (1012, which clients retry) to another instance; HTTP requests in flight finish.
        await Promise.all([subscriptions.close(), http.close(config.SHUTDOWN_GRACE_MS)]);
        await metricsHttp?.close();
        await apollo.stop();
        await transport.close();
        await stopStarted();
      })()),
  };
}

const hitsAndMisses = ({ hits, misses }: CacheStats) => ({ hit: hits, miss: misses });
