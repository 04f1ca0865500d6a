import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow as allowRule, deny as denyRule, shield, type IRules } from 'graphql-shield';
import { ReplayGuard, verifySubgraphRequest } from '../auth/gateway-signature.ts';
import { requestScope } from '../db/statement-counter.ts';
import type { BaseContext } from './context.ts';
import { ForbiddenError } from '../errors/index.ts';
import type { Logger } from '../logger/logger.ts';
import { maskErrors } from '../server/format-error.ts';
import { operationInputPlugin } from '../server/operation-input.ts';
import { auditDenialsPlugin } from './audit-denials.ts';
import { graphqlHttpHandler, refuse, sendJson } from '../server/http.ts';
import { localeOf } from '../server/locale.ts';
import { serveSubscriptions, type SubscriptionServer } from './subscriptions.ts';
import { traceHttpServer } from '../telemetry/http.ts';
import { requestIdOf, withRequestId } from '../telemetry/request-id.ts';
import { traceRootFields } from '../telemetry/graphql.ts';
import { tracingOff, type ServiceTracing } from '../telemetry/tracing.ts';
import { metricsRoute } from '../metrics/registry.ts';
import type { SubgraphMetrics } from './metrics.ts';
import type { Readiness } from './readiness.ts';

export interface SubgraphOptions<TContext extends BaseContext> {
  name: string;
  typeDefs: DocumentNode;
  // Resolver maps are checked against the generated types in each service.
  resolvers: GraphQLResolverMap<TContext> | object;
  /** graphql-shield rule tree; anything without a rule is denied. */
  permissions: IRules;
  /** Adds the service's per-request parts (DataLoaders, the database) to the base context. */
  createContext: (base: BaseContext) => TContext;
  /** Secret shared with the gateway; unsigned or badly signed requests are refused. */
  secret: string;
  logger: Logger;
  production: boolean;
  maxBodyBytes?: number;
  /** Answers /readyz (service/readiness.ts); without it the server is ready while it runs. */
  ready?: () => Promise<Readiness>;
  /** A server span per request (continuing the gateway's trace) and a span per root field and entity fetch. */
  tracing?: ServiceTracing;
  /** Prometheus series of the requests and resolvers, served at /metrics. */
  metrics?: SubgraphMetrics;
}

export interface SubgraphServer {
  schema: GraphQLSchema;
  apollo: ApolloServer<BaseContext>;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Serves the schema's subscriptions over graphql-ws on `server` (same port
   * and path as HTTP); undefined when the schema declares no Subscription type.
   */
  serveSubscriptions(server: Server): SubscriptionServer | undefined;
}

export function buildProtectedSchema(
  typeDefs: DocumentNode,
  resolvers: object,
  permissions: IRules,
  tracing?: ServiceTracing,
  metrics?: SubgraphMetrics,
): GraphQLSchema {
  const built = buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> });
  // Root fields (and `_entities`) timed and in spans of their own, inside the rules: a field a rule refuses never runs.
  const timed = metrics ? applyMiddleware(built, metrics.resolvers(built)) : built;
  const schema = tracing?.enabled ? applyMiddleware(timed, traceRootFields(tracing, built)) : timed;
  const rules = shield(permissions, {
    fallbackRule: denyRule,
    // Resolvers' own GraphQLErrors (NOT_FOUND, BAD_USER_INPUT) pass through; other errors are masked later.
    allowExternalErrors: true,
    fallbackError: () => new ForbiddenError(),
  }).generate(schema) as FieldMiddlewareMap;
  return applyMiddleware(schema, withoutPublicFields(rules, permissions));
}

type FieldMiddlewareMap = Record<string, Record<string, unknown>>;

/**
 * The shield's middleware minus the fields whose rule is `allow` (isPublic).
 * graphql-shield wraps every field of the schema, and its wrapper is async:
 * a public scalar on each of a page's objects then costs a rule evaluation
 * and two promises instead of a property read, most of a public page's CPU.
 * A field whose rule always allows gains nothing from the wrapper (a
 * resolver's own error passes through either way: `allowExternalErrors`),
 * so it keeps its bare resolver. Which rule a field has is read the way the
 * shield reads it — the type's rule, else the field's, else the type's `*`,
 * else the fallback (deny) — so every other field keeps its check.
 */
export function withoutPublicFields(rules: FieldMiddlewareMap, permissions: IRules): FieldMiddlewareMap {
  const tree = permissions as Record<string, unknown>;
  const ruleOf = (typeName: string, field: string): unknown => {
    const entry = tree[typeName];
    if (entry === undefined) return denyRule;
    if (isRule(entry)) return entry;
    const fields = entry as Record<string, unknown>;
    return fields[field] ?? fields['*'] ?? denyRule;
  };
  const kept: FieldMiddlewareMap = {};
  for (const [typeName, fields] of Object.entries(rules)) {
    const checked = Object.entries(fields).filter(([field]) => ruleOf(typeName, field) !== allowRule);
    if (checked.length) kept[typeName] = Object.fromEntries(checked);
  }
  return kept;
}

/** A graphql-shield rule (or logic rule), as opposed to a map of rules per field. */
const isRule = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';

export async function createSubgraphServer<TContext extends BaseContext>(
  options: SubgraphOptions<TContext>,
): Promise<SubgraphServer> {
  const tracing = options.tracing ?? tracingOff(options.name);
  const schema = buildProtectedSchema(
    options.typeDefs,
    options.resolvers,
    options.permissions,
    tracing,
    options.metrics,
  );
  const apollo = new ApolloServer<BaseContext>({
    schema,
    // Subgraphs answer only the gateway; the gateway applies the client-facing policies.
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    formatError: maskErrors(options.logger),
    csrfPrevention: false,
    allowBatchedHttpRequests: false,
    // Shutdown is one ordered sequence owned by the process (server/main.ts), not Apollo's own signal handlers.
    stopOnTerminationSignals: false,
    // Federated tracing is for Apollo's cloud reporting, which this project does not use.
    plugins: [
      operationInputPlugin(),
      ...(options.metrics ? [options.metrics.plugin] : []),
      ApolloServerPluginInlineTraceDisabled(),
      auditDenialsPlugin(options.name),
    ],
  });
  await apollo.start();

  // Each signed request is accepted once; see ReplayGuard for its limits (per instance, bounded by the skew window).
  const replays = new ReplayGuard();
  const serveMetrics = options.metrics ? metricsRoute('/metrics', [options.metrics.registry]) : () => false;
  const handler = graphqlHttpHandler<BaseContext>(apollo, {
    maxBodyBytes: options.maxBodyBytes,
    routes: async (req, res) => {
      if (req.url === '/healthz') return (sendJson(res, 200, { status: 'ok' }), true);
      if (req.url === '/readyz') {
        const { ready, body } = options.ready
          ? await options.ready().catch(() => ({ ready: false, body: { status: 'not ready' } }))
          : { ready: true, body: { status: 'ready' } };
        return (sendJson(res, ready ? 200 : 503, body), true);
      }
      return serveMetrics(req, res);
    },
    context: async (req, rawBody) => {
      // The gateway's id for the client's request (telemetry/request-id.ts): one id across the services.
      const requestId = requestIdOf(req);
      const check = verifySubgraphRequest(options.secret, rawBody, req.headers);
      if (!check.ok) {
        options.logger.warn(
          { reason: check.reason, remote: req.socket.remoteAddress },
          'refused unsigned subgraph request',
        );
        return refuse(401, 'UNAUTHENTICATED', 'This service only accepts requests from the gateway');
      }
      const replay = replays.check(req.headers);
      if (replay !== 'ok') {
        options.logger.warn({ reason: replay, remote: req.socket.remoteAddress }, 'refused replayed subgraph request');
        return replay === 'full'
          ? refuse(503, 'SERVICE_UNAVAILABLE', 'Too many requests in flight; try again')
          : refuse(401, 'UNAUTHENTICATED', 'This service only accepts requests from the gateway');
      }
      return options.createContext({
        identity: check.identity,
        requestId,
        logger: options.logger.child({ requestId }),
        locale: localeOf(req.headers['accept-language']),
      });
    },
  });
  return {
    schema,
    apollo,
    handler: traceHttpServer(
      tracing,
      withRequestId((req, res) => requestScope.run({ count: 0 }, () => handler(req, res))),
    ),
    serveSubscriptions: (server) =>
      schema.getSubscriptionType()
        ? serveSubscriptions({
            service: options.name,
            server,
            schema,
            secret: options.secret,
            logger: options.logger.child({ component: 'subscriptions' }),
            createContext: options.createContext,
            maxPayloadBytes: options.maxBodyBytes,
            tracing,
          })
        : undefined,
  };
}
