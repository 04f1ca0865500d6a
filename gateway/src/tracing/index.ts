import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { GraphQLDataSource } from '@apollo/gateway';
import {
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  contextOf,
  failSpan,
  inChildSpan,
  requestTraceContext,
  startTracing,
  telemetryEnv,
  traceHttpServer,
  traceparentOf,
  type ServiceTracing,
  type TelemetryConfig,
} from '@storefront/platform/telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { GatewayContext } from '../context.ts';
import { aroundFetch, carryTraceparent } from '../transport/index.ts';

/**
 * The gateway's traces (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set):
 * - the request: the HTTP server span, continuing the client's `traceparent`
 *   (or, with TRACE_CLIENT_CONTEXT=link, a new trace linked to it), with the
 *   operation's name, type and document hash and the client app's name/version;
 * - parse, validate and plan, each a span;
 * - each subgraph fetch, a CLIENT span whose context goes to the subgraph in
 *   `traceparent` (transport/data-source.ts);
 * - each subscription event pushed to a client, continuing the trace the
 *   subgraph's push carries (`extensions.traceparent`).
 *
 * Spans are never made active here: each request's context travels in its
 * GatewayContext (`trace`) and is handed on by hand (the `explicit` mode of
 * @storefront/platform/telemetry). An active context would need an
 * AsyncLocalStorage, whose promise hook taxes every request of the process,
 * sampled or not.
 */
export const tracingEnv = {
  /** The OTEL_* variables (packages/platform/src/telemetry/config.ts). */
  ...telemetryEnv,
  /**
   * `continue`: a valid client `traceparent` is the parent of the gateway's span (apps and the
   * gateway share traces). `link`: each request starts its own trace, linked to the client's
   * (clients then cannot choose trace ids or sampling).
   */
  TRACE_CLIENT_CONTEXT: z
    .enum(['continue', 'link'])
    .default('continue')
    .describe(
      '`continue`: a valid client `traceparent` is the parent of the gateway’s span; `link`: each request starts a trace of its own, linked to the client’s.',
    ),
};

/** The trace and span ids a request's log lines carry (its span's), or nothing with tracing off. */
export function traceIdsOf(context: Context | undefined): { traceId?: string; spanId?: string } {
  const span = context && trace.getSpanContext(context);
  return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
}

export interface GatewayTracing {
  readonly enabled: boolean;
  readonly tracing: ServiceTracing;
  http(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  /** The context of `req`'s request span, for its GatewayContext (`trace`); undefined with tracing off. */
  contextOf(req: IncomingMessage): Context | undefined;
  plugins: ApolloServerPlugin<GatewayContext>[];
  /** ApolloGateway's `experimental_didResolveQueryPlan`: ends the plan span. */
  didResolveQueryPlan(options: { requestContext: { context: unknown } }): void;
  dataSource<T extends GraphQLDataSource>(name: string, dataSource: T): T;
  /** Wraps the execution of one subscription event for a client; `run` gets the push span's context. */
  push<T>(
    event: { extensions?: Record<string, unknown> | undefined },
    operationName: string | undefined,
    run: (trace?: Context) => Promise<T>,
  ): Promise<T>;
  shutdown(): Promise<void>;
}

export async function startGatewayTracing(
  config: TelemetryConfig & { TRACE_CLIENT_CONTEXT: 'continue' | 'link' },
): Promise<GatewayTracing> {
  const tracing = await startTracing('gateway', config, { context: 'explicit' });
  const planning = new WeakMap<object, Span>();
  const endPlan = (contextValue: unknown) => {
    if (typeof contextValue !== 'object' || contextValue === null) return;
    planning.get(contextValue)?.end();
    planning.delete(contextValue);
  };
  const phase = (name: string, parent: Context) => {
    const span = tracing.tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent);
    return async (error?: unknown) => {
      if (error) failSpan(span, error);
      span.end();
    };
  };
  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart({ contextValue }): Promise<GraphQLRequestListener<GatewayContext> | void> {
      const parent = contextValue.trace;
      const request = parent && trace.getSpan(parent);
      if (!parent || !request?.isRecording()) return;
      const client = contextValue.client;
      if (client) {
        request.setAttribute('graphql.client.name', client.name);
        if (client.version) request.setAttribute('graphql.client.version', client.version);
      }
      return {
        async parsingDidStart() {
          return phase('graphql.parse', parent);
        },
        async validationDidStart() {
          return phase('graphql.validate', parent);
        },
        async didResolveOperation({ operation, operationName, queryHash }) {
          if (operation) request.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) request.setAttribute('graphql.operation.name', operationName.slice(0, 100));
          request.setAttribute('graphql.document.hash', queryHash);
        },
        async executionDidStart({ contextValue: context }) {
          planning.set(context, tracing.tracer.startSpan('graphql.plan', { kind: SpanKind.INTERNAL }, parent));
        },
        async willSendResponse({ contextValue: context, errors }) {
          endPlan(context);
          const codes = [
            ...new Set(
              (errors ?? []).map((e) =>
                typeof e.extensions?.code === 'string' ? e.extensions.code : 'INTERNAL_SERVER_ERROR',
              ),
            ),
          ];
          if (codes.length) request.setAttribute('graphql.error.codes', codes.slice(0, 10));
        },
      };
    },
  };

  return {
    enabled: tracing.enabled,
    tracing,
    http: (handler) =>
      traceHttpServer(tracing, handler, { callerContext: config.TRACE_CLIENT_CONTEXT, context: 'explicit' }),
    contextOf: (req) => (tracing.enabled ? requestTraceContext(req) : undefined),
    plugins: tracing.enabled ? [plugin] : [],
    didResolveQueryPlan: ({ requestContext }) => endPlan(requestContext.context),
    dataSource: <T extends GraphQLDataSource>(name: string, dataSource: T): T => {
      if (!tracing.enabled) return dataSource;
      return aroundFetch(dataSource, (fetch, options) => {
        const parent = (options.context as Partial<GatewayContext> | undefined)?.trace ?? ROOT_CONTEXT;
        const parentSpan = trace.getSpanContext(parent);
        if (parentSpan && !(parentSpan.traceFlags & TraceFlags.SAMPLED)) {
          // An unsampled trace records nothing, and every sampler offered (parent-based, or by trace id, which
          // the child shares) leaves its children unsampled too: no fetch span, only the request's context
          // passed on, so the subgraph continues the trace unsampled. Most requests take this path at 10%.
          carryTraceparent(options.request, traceparentOf(parent));
          return fetch();
        }
        return inChildSpan(
          tracing,
          parent,
          `fetch ${name}`,
          { kind: SpanKind.CLIENT, attributes: { 'graphql.subgraph.name': name } },
          async (span, context) => {
            carryTraceparent(options.request, traceparentOf(context));
            const response = await fetch();
            if (response.http?.status) span.setAttribute('http.response.status_code', response.http.status);
            if (response.errors?.length) span.setAttribute('graphql.errors', response.errors.length);
            return response;
          },
        );
      });
    },
    push: (event, operationName, run) => {
      const parent = tracing.enabled ? contextOf(event.extensions?.traceparent) : undefined;
      if (!parent) return run();
      return inChildSpan(
        tracing,
        parent,
        `push ${operationName ?? 'subscription'}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'graphql.operation.type': 'subscription',
            ...(operationName ? { 'graphql.operation.name': operationName.slice(0, 100) } : {}),
          },
        },
        (_span, context) => run(context),
      );
    },
    shutdown: () => tracing.shutdown(),
  };
}
