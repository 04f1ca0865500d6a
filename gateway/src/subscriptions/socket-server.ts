import type { IncomingMessage, Server } from 'node:http';
import { HeaderMap, type ApolloServer, type GraphQLRequest } from '@apollo/server';
import {
  buildSchema,
  GraphQLError,
  parse,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { attachWebSocketEndpoint } from '@storefront/platform/server';
import type WebSocket from 'ws';
import type { Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';
import type { TokenCheck } from '../auth/index.ts';
import type { SocketOperationLine } from '../access-log/index.ts';
import type { GatewayContext } from '../context.ts';
import { attachTicket, type Admission } from './admission.ts';
import type { SubscriptionConfig } from './config.ts';
import { authorizationOf, bearerToken, CLOSE, closeWhenTokenExpires, limitMessageRate } from './connection-guard.ts';
import { clientError, SUBSCRIPTION_ERRORS } from './errors.ts';

/**
 * The client-facing graphql-ws endpoint, on the gateway's own HTTP server,
 * port and path.
 *
 * Every operation (query, mutation or subscription) first runs through the
 * ApolloServer pipeline with the same context shape as HTTP, so validation
 * rules, plugins and error masking are those of HTTP. Queries and mutations
 * come back as one result; a subscription comes back admitted (see
 * admission.ts) and is then streamed by `openStream`. graphql-ws only routes:
 * it is handed a fixed document of the right operation type, never the
 * client's (which Apollo Server has already parsed and validated).
 *
 * Authentication is per socket (`connectionParams.authorization`); a bad
 * token closes it with 4401, no token means anonymous, and the socket is
 * closed with 4401 when the token expires. Since credentials are not
 * cookies, a cross-site page opening a socket gains nothing (no CSWSH).
 */
export interface SocketServerOptions {
  server: Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  /** Verifies `authorization` (undefined: anonymous) as the HTTP path verifies its header. */
  authenticate: (authorization: string | undefined, request: IncomingMessage) => Promise<TokenCheck>;
  /** Builds an operation's context, the same shape as for an HTTP request. */
  createContext: (identity: Identity | null, request: IncomingMessage) => GatewayContext;
  openStream: (admission: Admission) => AsyncIterableIterator<FormattedExecutionResult>;
  limits: SubscriptionConfig;
  logger: Logger;
  /** The access-log line of each operation (access-log/), written when it ends. */
  accessLog?: (context: GatewayContext) => SocketOperationLine | undefined;
}

export interface SocketServer {
  connections(): number;
  /** Refuses new sockets, closes open ones with 1012 (Service Restart: clients reconnect, to another instance) and waits for them (up to `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

interface Connection {
  authorization: string | undefined;
  identity: Identity | null;
  headers: HeaderMap;
  flooded: boolean;
  cancelExpiry: () => void;
  /** Errors Apollo Server already formatted, for the `error` message of an operation refused before execution. */
  refusals: Map<string, GraphQLFormattedError[]>;
  /** The access-log line of each open operation, by id. */
  lines: Map<string, SocketOperationLine>;
}

/** What onSubscribe hands graphql-ws's `execute`/`subscribe` (as the context value). */
type Outcome = { result: FormattedExecutionResult } | { admission: Admission };

// graphql-ws picks execute or subscribe from the document; these only steer it (our execute/subscribe ignore them).
const ROUTE = {
  schema: buildSchema('type Query { _: Boolean } type Subscription { _: Boolean }'),
  query: parse('query { __typename }'),
  subscription: parse('subscription { __typename }'),
};

export function serveSocket(options: SocketServerOptions): SocketServer {
  const { apollo, authenticate, limits, logger, path } = options;
  const connections = new WeakMap<WebSocket, Connection>();
  const endpoint = attachWebSocketEndpoint(options.server, {
    path,
    maxPayloadBytes: limits.WS_MAX_MESSAGE_BYTES,
    logger,
  });
  const { wss } = endpoint;

  // Registered before useServer's own listener, so the rate limit sees each message before graphql-ws does.
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = {
      authorization: undefined,
      identity: null,
      headers: headersOf(request),
      flooded: false,
      cancelExpiry: () => {},
      refusals: new Map(),
      lines: new Map(),
    };
    connections.set(socket, connection);
    limitMessageRate(socket, {
      perSecond: limits.WS_MAX_MESSAGES_PER_SECOND,
      burst: limits.WS_MESSAGE_BURST,
      onFlood: () => {
        connection.flooded = true;
        logger.warn(
          { remote: request.socket.remoteAddress, userId: connection.identity?.userId },
          'closed a flooding socket',
        );
      },
    });
    socket.once('close', () => connection.cancelExpiry());
  });

  useServer(
    {
      connectionInitWaitTimeout: limits.WS_CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const connection = connections.get(socket)!;
        const authorization = authorizationOf(ctx.connectionParams);
        const check = await authenticate(authorization, ctx.extra.request);
        if (!check.ok) {
          // Our own close code: graphql-ws would close with 4403 when onConnect returns false.
          socket.close(CLOSE.unauthorized, check.message.slice(0, 120));
          return false;
        }
        connection.authorization = authorization;
        connection.identity = check.identity;
        if (authorization && check.identity)
          connection.cancelExpiry = closeWhenTokenExpires(socket, bearerToken(authorization));
        return true;
      },

      onSubscribe: async (ctx, id, payload) => {
        const { socket, request } = ctx.extra;
        const connection = connections.get(socket)!;
        const contextValue = options.createContext(connection.identity, request);
        const line = options.accessLog?.(contextValue);
        const refuse = (code: string, message: string) => (line?.end([code]), [clientError(code, message)]);
        if (connection.flooded) return refuse('RATE_LIMITED', 'Too many messages on this connection');
        // The new operation is already in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > limits.WS_MAX_OPERATIONS) {
          return refuse(
            SUBSCRIPTION_ERRORS.tooManyOperations,
            `At most ${limits.WS_MAX_OPERATIONS} operations may be open on one connection`,
          );
        }

        if (connection.authorization) {
          // Checked again per operation, as HTTP checks every request: a session revoked since the socket opened ends here.
          const check = await authenticate(connection.authorization, request);
          if (!check.ok) {
            socket.close(CLOSE.unauthorized, check.message.slice(0, 120));
            return refuse('UNAUTHENTICATED', check.message);
          }
        }

        const ticket = attachTicket(contextValue);
        let result: FormattedExecutionResult;
        try {
          const response = await apollo.executeOperation(toGraphQLRequest(payload, new HeaderMap(connection.headers)), {
            contextValue,
          });
          const body = response.body;
          result = body.kind === 'single' ? body.singleResult : body.initialResult;
        } catch (error) {
          logger.error({ err: error }, 'unexpected error running an operation from a socket');
          return refuse('INTERNAL_SERVER_ERROR', 'Internal server error');
        }
        // Ended by onComplete (answered, completed, cancelled or the socket closed).
        if (line) connection.lines.set(id, line);
        if (ticket.admitted) {
          return {
            schema: ROUTE.schema,
            document: ROUTE.subscription,
            contextValue: { admission: ticket.admitted } satisfies Outcome,
          };
        }
        if (!('data' in result) && result.errors?.length) {
          // Refused before execution (syntax, validation, limits): graphql-ws's `error` message, with Apollo's formatting.
          connection.refusals.set(id, [...result.errors]);
          connection.lines.delete(id);
          line?.end();
          return result.errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions }));
        }
        return {
          schema: ROUTE.schema,
          document: ROUTE.query,
          contextValue: { result } satisfies Outcome,
        } satisfies ExecutionArgs;
      },
      // Typed for graphql-js results; ours are already formatted (plain errors), which onNext passes through.
      execute: (args) =>
        (args.contextValue as Outcome & { result: FormattedExecutionResult }).result as ExecutionResult,
      subscribe: (args) =>
        options.openStream(
          (args.contextValue as Outcome & { admission: Admission }).admission,
        ) as AsyncIterableIterator<ExecutionResult> as AsyncGenerator<ExecutionResult>,
      // Results were formatted by Apollo Server or by the event executor; send them as they are.
      onNext: (ctx, id, _payload, _args, result) => {
        connections.get(ctx.extra.socket)?.lines.get(id)?.sent(result);
        return result;
      },
      onError: (ctx, id, _payload, errors) => {
        const connection = connections.get(ctx.extra.socket);
        const formatted = connection?.refusals.get(id);
        connection?.refusals.delete(id);
        const sent = formatted ?? errors.map((e) => e.toJSON());
        connection?.lines.get(id)?.sent({ errors: sent });
        return sent;
      },
      // Every operation that reached execution ends here: answered, completed, cancelled by the client, or its socket closed.
      onComplete: (ctx, id) => {
        const lines = connections.get(ctx.extra.socket)?.lines;
        lines?.get(id)?.end();
        lines?.delete(id);
      },
    },
    wss,
    limits.WS_KEEPALIVE_MS,
  );
  return {
    connections: () => wss.clients.size,
    close: (graceMs = 5_000) => endpoint.close(graceMs),
  };
}

function toGraphQLRequest(payload: SubscribePayload, headers: HeaderMap): GraphQLRequest {
  return {
    query: payload.query,
    ...(payload.variables ? { variables: payload.variables } : {}),
    ...(payload.operationName ? { operationName: payload.operationName } : {}),
    ...(payload.extensions ? { extensions: payload.extensions } : {}),
    // Plugins see the socket's upgrade request, as they see an HTTP request's headers.
    http: { method: 'POST', headers, search: '', body: payload },
  };
}

function headersOf(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined && !key.startsWith('sec-websocket-'))
      headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  headers.set('content-type', 'application/json');
  return headers;
}
