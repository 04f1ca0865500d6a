import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  OperationTypeNode,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { audit } from '../logger/audit.ts';
import { verifyConnection, verifySubscription } from '../auth/gateway-signature.ts';
import { requestScope } from '../db/statement-counter.ts';
import { UnauthenticatedError } from '../errors/index.ts';
import type { Logger } from '../logger/logger.ts';
import { mapStream, resumePointOf, traceOfPayload } from '../streams/index.ts';
import { SpanKind } from '@opentelemetry/api';
import { contextOf, traceparentOf } from '../telemetry/propagation.ts';
import { inSpan, type ServiceTracing } from '../telemetry/tracing.ts';
import { maskErrors } from '../server/format-error.ts';
import { inputProblem, operationNotSelected } from '../server/operation-input.ts';
import { attachWebSocketEndpoint } from '../server/websocket-endpoint.ts';
import type { BaseContext } from './context.ts';

/**
 * GraphQL subscriptions of a subgraph, over graphql-ws (the
 * `graphql-transport-ws` protocol) on the same port and path as HTTP.
 *
 * Only the gateway connects, and it multiplexes many callers over one
 * socket, so trust is established twice:
 * - the connection: `connection_init` carries `{ timestamp, signature }`
 *   from `signConnection(secret)`; anything else is closed with 4403;
 * - each operation: `subscribe.payload.extensions.storefront` carries
 *   `signSubscription(secret, { query, variables }, identity)`; a missing,
 *   stale or forged one gets an `error` message with code UNAUTHENTICATED
 *   and no events. The verified identity becomes that operation's context,
 *   never the connection's.
 *
 * Operations run against the same shielded schema as HTTP: the rule of the
 * subscription field is checked when subscribing, and every field of every
 * pushed payload is resolved through its rules, with a fresh context (fresh
 * DataLoaders, fresh rule cache) per event so nothing stale is pushed.
 */
export interface SubscriptionServerOptions<TContext extends BaseContext> {
  /** The service's name, for audit records. */
  service: string;
  server: Server;
  /** @default '/graphql' */
  path?: string;
  schema: GraphQLSchema;
  secret: string;
  logger: Logger;
  createContext: (base: BaseContext) => TContext;
  /** Largest message accepted. @default 1 MiB */
  maxPayloadBytes?: number;
  /** Ping interval; a peer that misses a pong is dropped. @default 12000 */
  keepAliveMs?: number;
  /** A span per pushed payload marked with its event's trace (streams' `traceAt`). */
  tracing?: ServiceTracing;
}

export interface SubscriptionServer {
  /** Operations currently open on this instance (tests and metrics). */
  activeSubscriptions(): number;
  /** Refuses new sockets, closes open ones with 1012 (Service Restart: clients reconnect), and waits for them. */
  close(graceMs?: number): Promise<void>;
}

export function serveSubscriptions<TContext extends BaseContext>(
  options: SubscriptionServerOptions<TContext>,
): SubscriptionServer {
  const { schema, secret, logger } = options;
  const path = options.path ?? '/graphql';
  const format = maskErrors(logger);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((error) => format(error.toJSON(), error));
  /** Per operation: builds the context for one pushed event (fresh loaders and rule cache). */
  const eventContexts = new WeakMap<object, () => TContext>();
  let active = 0;
  const endpoint = attachWebSocketEndpoint(options.server, {
    path,
    maxPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
    logger,
  });
  const { wss } = endpoint;

  useServer(
    {
      schema,
      onConnect: (ctx) => {
        if (verifyConnection(secret, ctx.connectionParams)) return true;
        logger.warn({ remote: ctx.extra.request.socket.remoteAddress }, 'refused an unsigned subscription connection');
        return false; // graphql-ws closes with 4403 Forbidden
      },
      onSubscribe: (_ctx, id, payload) => {
        const signed = payload.extensions?.storefront;
        const check = verifySubscription(
          secret,
          { query: payload.query, variables: payload.variables },
          typeof signed === 'object' && signed !== null ? signed : undefined,
        );
        if (!check.ok) {
          logger.warn({ reason: check.reason, operationId: id }, 'refused an unsigned subscription');
          return [new UnauthenticatedError('This service only accepts operations signed by the gateway')];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const invalid = validate(schema, document);
        if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [operationNotSelected(payload.operationName)];
        if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
          return [
            new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP', {
              extensions: { code: 'BAD_REQUEST' },
            }),
          ];
        }
        const illFormed = inputProblem(document, operation, payload.variables);
        if (illFormed) return [illFormed];
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (coerced.errors) return coerced.errors.map((error) => withCode(error, 'BAD_USER_INPUT'));

        const given = payload.extensions?.requestId;
        const requestId = typeof given === 'string' && given.length <= 128 ? given : randomUUID();
        const base: BaseContext = {
          identity: check.identity,
          requestId,
          logger: logger.child({ requestId, operationId: id }),
        };
        const contextValue = options.createContext(base);
        eventContexts.set(contextValue, () => options.createContext(base));
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        } satisfies ExecutionArgs;
      },
      subscribe: async (args) => {
        const source = await requestScope.run({ count: 0 }, () => createSourceEventStream(args));
        if (!isAsyncIterable(source)) return source; // the subscribe resolver or its rule refused
        const events = source[Symbol.asyncIterator]();
        const eventContext = eventContexts.get(args.contextValue as object);
        active++;
        return mapStream(
          {
            next: () => requestScope.run({ count: 0 }, () => events.next()),
            return: () => Promise.resolve(events.return?.() ?? { value: undefined, done: true as const }),
          },
          (payload) =>
            requestScope.run({ count: 0 }, async () => {
              const push = async (): Promise<ExecutionResult> => {
                const result = await execute({
                  ...args,
                  rootValue: payload,
                  contextValue: eventContext ? eventContext() : args.contextValue,
                });
                // Where to pick up after this event if the connection drops (see resumeAt).
                const resume = resumePointOf(payload);
                // The push's trace context, for the gateway to continue to the client.
                const traceparent = parent ? traceparentOf() : undefined;
                return resume || traceparent
                  ? {
                      ...result,
                      extensions: {
                        ...result.extensions,
                        ...(resume ? { resume } : {}),
                        ...(traceparent ? { traceparent } : {}),
                      },
                    }
                  : result;
              };
              const parent = options.tracing?.enabled ? contextOf(traceOfPayload(payload)) : undefined;
              if (!parent || !options.tracing) return push();
              return inSpan(
                options.tracing,
                `push ${args.operationName ?? 'subscription'}`,
                {
                  kind: SpanKind.PRODUCER,
                  attributes: {
                    'graphql.operation.type': 'subscription',
                    ...(args.operationName ? { 'graphql.operation.name': args.operationName.slice(0, 100) } : {}),
                  },
                },
                push,
                parent,
              );
            }),
          {
            // One failing stream must not take the shared socket down: it ends with an error result.
            onError: (error): ExecutionResult => ({ errors: [asGraphQLError(error)] }),
            onEnd: () => active--,
          },
        );
      },
      onNext: (_ctx, _id, payload, args, result) => {
        if (!result.errors) return undefined;
        auditDenials(options.service, args.contextValue as BaseContext, payload.operationName, result.errors);
        return { ...result, errors: formatAll(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => formatAll(errors),
    },
    wss,
    options.keepAliveMs ?? 12_000,
  );

  let closed: Promise<void> | undefined;
  return {
    activeSubscriptions: () => active,
    close: (graceMs = 5_000) => (closed ??= endpoint.close(graceMs)),
  };
}

/** Refusals are audited as over HTTP (see audit-denials.ts): subscribing to someone else's order is probing too. */
function auditDenials(
  service: string,
  context: BaseContext,
  operationName: string | null | undefined,
  errors: readonly GraphQLError[],
): void {
  const denied = errors.filter((error) => error.extensions?.code === 'FORBIDDEN');
  if (denied.length === 0) return;
  audit(context.logger, 'access_denied', {
    service,
    userId: context.identity?.userId ?? null,
    role: context.identity?.role ?? null,
    operationName: operationName ?? null,
    fields: [...new Set(denied.map((e) => (e.path ?? []).filter((p) => typeof p === 'string').join('.')))].slice(0, 10),
    count: denied.length,
    transport: 'websocket',
  });
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/** The same error with a code, as Apollo Server labels request errors over HTTP. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (!(error instanceof GraphQLError)) return new GraphQLError('Invalid request', { extensions: { code } });
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return new GraphQLError(error instanceof Error ? error.message : String(error), {
    originalError: error instanceof Error ? error : undefined,
  });
}
