import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLDataSource } from '@apollo/gateway';
import { env } from '@storefront/platform/config';
import type { Logger } from '@storefront/platform/logger';
import { requestIdOf } from '@storefront/platform/telemetry';
import type { AccessRecord, GatewayContext } from '../context.ts';
import { aroundFetch } from '../transport/index.ts';

export type { AccessRecord } from '../context.ts';

/**
 * The access log: one JSON line per HTTP request the gateway answers, with
 * what an operator asks first — which operation, from which app, answered
 * how and how fast, at what cost downstream:
 *
 *   {"access":true,"requestId":"…","method":"POST","path":"/graphql","status":200,"durationMs":12.4,
 *    "operationName":"Catalog","operationType":"query","client":{"name":"web","version":"1.4.0"},
 *    "subgraphFetches":{"products":1},"cacheHit":false,"errorCodes":[], "msg":"request"}
 *
 * Never variables, tokens, query strings (a GET carries its variables there)
 * or personal data: the operation's name is the client's own label, cut to
 * 100 characters. Refusals before GraphQL (a 400, a 413) are logged too, with
 * only the HTTP part. Subscriptions streamed over HTTP are logged when their
 * stream ends.
 *
 * Operations sent over the WebSocket have no HTTP answer of their own: each
 * gets its own line ("transport":"websocket", no method or status) when it
 * ends — a query or mutation when answered, a subscription when it completes,
 * is cancelled or its socket closes — with the events it delivered.
 */
export const accessLogEnv = {
  ACCESS_LOG: env
    .bool(true)
    .describe(
      'Write one JSON line per HTTP request and per WebSocket operation, at info level ("access": true): operation name and type, client app, status, duration, subgraph fetches, response-cache hit, error codes. Never variables, tokens or personal data.',
    ),
};

const MAX_ERROR_CODES = 10;

export interface AccessLog {
  /** Wraps the HTTP handler (inside `withRequestId`): the line is written when the answer is done. */
  http(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  /** The record of this request, for its GraphQL context. */
  recordOf(req: IncomingMessage): AccessRecord | undefined;
  /** Counts the fetches of each subgraph per request. */
  dataSource<T extends GraphQLDataSource>(name: string, dataSource: T): T;
  plugin: ApolloServerPlugin<GatewayContext>;
  /** A WebSocket operation: gives its context a record, and writes its line when it ends. */
  socketOperation: (context: GatewayContext) => SocketOperationLine | undefined;
}

/** The access-log line of one WebSocket operation, written once, by `end`. */
export interface SocketOperationLine {
  /** A result (the answer, or a subscription's event) was sent. */
  sent(result: { errors?: readonly { extensions?: Record<string, unknown> }[] }): void;
  /** Writes the line; `errorCodes` are those of a refusal sent as graphql-ws's `error` message. */
  end(errorCodes?: string[]): void;
}

export function createAccessLog(options: { enabled: boolean; logger: Logger }): AccessLog {
  const records = new WeakMap<IncomingMessage, AccessRecord>();
  const logger = options.logger.child({ component: 'access' });
  if (!options.enabled)
    return {
      http: (handler) => handler,
      recordOf: () => undefined,
      dataSource: (_, ds) => ds,
      plugin: {},
      socketOperation: () => undefined,
    };
  const addCodes = (record: AccessRecord, codes: Iterable<unknown>) => {
    const all = new Set(record.errorCodes);
    for (const code of codes) if (typeof code === 'string' && all.size < MAX_ERROR_CODES) all.add(code);
    record.errorCodes = [...all];
  };

  return {
    http: (handler) => (req, res) => {
      const started = performance.now();
      const record: AccessRecord = { subgraphFetches: {}, cacheHit: false, errorCodes: [] };
      records.set(req, record);
      res.once('close', () => {
        logger.info(
          {
            access: true,
            requestId: requestIdOf(req),
            method: req.method,
            path: (req.url ?? '').split('?')[0]!.slice(0, 200),
            status: res.statusCode,
            durationMs: Math.round((performance.now() - started) * 10) / 10,
            ...record,
          },
          'request',
        );
      });
      handler(req, res);
    },
    recordOf: (req) => records.get(req),
    dataSource: <T extends GraphQLDataSource>(name: string, dataSource: T): T => {
      return aroundFetch(dataSource, (fetch, request) => {
        const record = (request.context as Partial<GatewayContext> | undefined)?.access;
        if (record) record.subgraphFetches[name] = (record.subgraphFetches[name] ?? 0) + 1;
        return fetch();
      });
    },
    plugin: {
      async requestDidStart({ contextValue }) {
        const record = contextValue.access;
        if (!record) return;
        // Apollo Client's client-awareness headers, as the context checked them (headers/).
        if (contextValue.client) record.client = contextValue.client;
        return {
          async didResolveOperation({ operation }) {
            if (!operation) return;
            record.operationType = operation.operation;
            if (operation.name) record.operationName = operation.name.value.slice(0, 100);
          },
          async willSendResponse({ response, metrics, errors }) {
            record.cacheHit = metrics.responseCacheHit === true;
            const sent = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
            addCodes(
              record,
              (sent ?? errors ?? []).map((error) => error.extensions?.code),
            );
          },
        };
      },
    },
    socketOperation: (context) => {
      const started = performance.now();
      const record: AccessRecord = { subgraphFetches: {}, cacheHit: false, errorCodes: [] };
      context.access = record;
      let results = 0;
      let ended = false;
      return {
        sent: (result) => {
          results += 1;
          addCodes(
            record,
            (result.errors ?? []).map((error) => error.extensions?.code),
          );
        },
        end: (errorCodes = []) => {
          if (ended) return;
          ended = true;
          addCodes(record, errorCodes);
          logger.info(
            {
              access: true,
              requestId: context.requestId,
              transport: 'websocket',
              durationMs: Math.round((performance.now() - started) * 10) / 10,
              results,
              ...record,
            },
            'request',
          );
        },
      };
    },
  };
}
