import type { Context } from '@opentelemetry/api';
import type { IncomingMessage, Server } from 'node:http';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { ApolloServer } from '@apollo/server';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
import type { Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';
import type { TokenCheck } from '../auth/index.ts';
import type { GatewayContext } from '../context.ts';
import type { Supergraph } from '../supergraph/index.ts';
import type { FormattedExecutionResult } from 'graphql';
import { admittingSubscriptions, type Admission } from './admission.ts';
import type { SubscriptionConfig } from './config.ts';
import type { FormatError } from './errors.ts';
import { createEventExecutor } from './event-execution.ts';
import { openFederatedStream } from './federated-stream.ts';
import { SubscriptionPlanner } from './planner.ts';
import { serveSocket, type SocketServer } from './socket-server.ts';
import type { SocketOperationLine } from '../access-log/index.ts';
import { SubgraphConnection } from './upstream-client.ts';
import { UpstreamHub } from './upstream-hub.ts';

export { subscriptionEnv, type SubscriptionConfig } from './config.ts';
export { attachTicket, canStream, type Admission } from './admission.ts';
export { clientError, SUBSCRIPTION_ERRORS } from './errors.ts';

/**
 * Federated subscriptions for an ApolloGateway, which cannot execute them
 * itself (DESIGN §2). The pieces, in the order an operation meets them:
 *
 *   socket-server     graphql-ws on the gateway's port and path; auth, limits
 *   admission         through Apollo Server's pipeline, then planned (planner)
 *   federated-stream  one client subscription: buffer, leave at once
 *   upstream-hub      identical subscriptions share one upstream operation
 *   upstream-client   one multiplexed, signed graphql-ws connection per subgraph
 *                     instance; each upstream operation goes to the instance
 *                     the subgraph transport's balancer picks (`instances`)
 *   event-execution   each event completed by the rest of the plan, through
 *                     ApolloGateway's executeQueryPlan and its data sources
 *
 * Wiring (gateway/src/index.ts): register the data sources ApolloGateway
 * builds (`dataSource`), give Apollo Server `admit(gateway)` instead of the
 * gateway, `serve()` once listening, `close()` first on stop.
 */
export interface SubscriptionStats {
  /** Client sockets open. */
  connections: () => number;
  /** Client subscriptions streaming. */
  clientSubscriptions: () => number;
  /** Upstream subscriptions open (or waiting for their connection), by subgraph. */
  upstreamSubscriptions: () => Record<string, number>;
}

export interface FederatedSubscriptions {
  /** Records a data source ApolloGateway built (from `buildService`) and returns it. */
  dataSource<T extends GraphQLDataSource>(name: string, dataSource: T): T;
  /** The gateway to hand Apollo Server: subscriptions are admitted through its pipeline. */
  admit(gateway: GatewayInterface): GatewayInterface;
  serve(options: {
    server: Server;
    apollo: ApolloServer<GatewayContext>;
    /** Verifies a socket's `connectionParams.authorization` (undefined: anonymous) as HTTP verifies its header. */
    authenticate: (authorization: string | undefined, request: IncomingMessage) => Promise<TokenCheck>;
    formatError: FormatError;
    createContext: (identity: Identity | null, request: IncomingMessage) => GatewayContext;
    /** The access-log line of each socket operation (access-log/). */
    accessLog?: (context: GatewayContext) => SocketOperationLine | undefined;
  }): void;
  /**
   * A client subscription the pipeline admitted over HTTP (multipart, SSE; gateway/src/http/), streamed
   * exactly as the socket's are. Available once `serve()` has run.
   */
  stream(admission: Admission): AsyncIterableIterator<FormattedExecutionResult>;
  stats: SubscriptionStats;
  /**
   * Plans for a new supergraph (throws when it cannot be planned on) and returns the switch to it:
   * subscriptions admitted afterwards are planned on `next`; open ones keep their plan, and their
   * events are completed against the supergraph they were planned on, so they stay open.
   */
  prepareSupergraph(next: Supergraph): () => void;
  /** Closes client sockets (1012, clients reconnect), then the upstream connections. */
  close(): Promise<void>;
}

/** Which instance of a subgraph an upstream subscription goes to; the subgraph transport answers (SubgraphTransport). */
export interface SubgraphInstances {
  /** An instance that is up, by the balancer fetches use; undefined when the transport does not know the subgraph. */
  pickInstance(subgraph: string): string | undefined;
  /**
   * A socket to `instance` could not be opened or was lost: no new traffic to
   * it until a health check passes. True when another instance is up.
   */
  reportUnreachable(subgraph: string, instance: string, detail: string): boolean;
}

export function federatedSubscriptions(options: {
  config: SubscriptionConfig & { SUBGRAPH_SECRET: string; subgraphSecrets: Record<string, string> };
  supergraph: Supergraph;
  instances: SubgraphInstances;
  logger: Logger;
  /** Runs each event's execution for a client in a span continuing the subgraph's push (tracing/). */
  traceEvent?: <T>(
    event: { extensions?: Record<string, unknown> | undefined },
    operationName: string | undefined,
    run: (trace?: Context) => Promise<T>,
  ) => Promise<T>;
}): FederatedSubscriptions {
  const { config, instances } = options;
  const logger = options.logger.child({ component: 'subscriptions' });
  let supergraph = options.supergraph;
  let planner = new SubscriptionPlanner(supergraph.sdl);
  const dataSources = new Map<string, GraphQLDataSource>();
  /** By instance URL: several subgraph instances, several connections. */
  const connections = new Map<string, SubgraphConnection>();
  const hub = new UpstreamHub((name) => {
    const url = instances.pickInstance(name) ?? supergraph.subgraphs.find((s) => s.name === name)?.url;
    if (!url) throw new Error(`No routing URL for subgraph "${name}"`);
    let connection = connections.get(url);
    if (!connection) {
      connection = new SubgraphConnection({
        name,
        url,
        secret: config.subgraphSecrets[name] ?? config.SUBGRAPH_SECRET,
        keepAliveMs: config.UPSTREAM_WS_KEEPALIVE_MS,
        retryAttempts: config.UPSTREAM_WS_RETRY_ATTEMPTS,
        onUnreachable: (detail) => instances.reportUnreachable(name, url, detail),
        logger,
      });
      connections.set(url, connection);
    }
    return connection;
  });
  let streaming = 0;
  let socket: SocketServer | undefined;
  let openStream: ((admission: Admission) => AsyncIterableIterator<FormattedExecutionResult>) | undefined;

  return {
    dataSource: (name, dataSource) => (dataSources.set(name, dataSource), dataSource),
    admit: (gateway) => admittingSubscriptions(gateway, () => planner),
    serve: ({ server, apollo, authenticate, formatError, createContext, accessLog }) => {
      const run = createEventExecutor({ dataSources, formatError });
      const { traceEvent } = options;
      const execute: typeof run = traceEvent
        ? (admission, event) =>
            traceEvent(event, admission.requestContext.request.operationName ?? undefined, (trace) =>
              run(admission, event, trace),
            )
        : run;
      openStream = (admission) => {
        streaming++;
        return openFederatedStream({
          admission,
          hub,
          execute,
          formatError,
          capacity: config.WS_MAX_BUFFERED_EVENTS,
          onEnd: () => streaming--,
        });
      };
      socket = serveSocket({
        server,
        path: '/graphql',
        apollo,
        authenticate,
        createContext,
        ...(accessLog ? { accessLog } : {}),
        limits: config,
        logger,
        openStream,
      });
    },
    stream: (admission) => {
      if (!openStream) throw new Error('subscriptions: stream() before serve()');
      return openStream(admission);
    },
    stats: {
      connections: () => socket?.connections() ?? 0,
      clientSubscriptions: () => streaming,
      upstreamSubscriptions: () => hub.counts(),
    },
    prepareSupergraph: (next) => {
      const nextPlanner = new SubscriptionPlanner(next.sdl);
      return () => {
        planner = nextPlanner;
        supergraph = next;
      };
    },
    close: async () => {
      await socket?.close();
      await Promise.all([...connections.values()].map((c) => c.close()));
    },
  };
}
