import {
  context,
  INVALID_SPAN_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { tracesEndpoint, type TelemetryConfig } from './config.ts';

/**
 * One service's tracing: its tracer (spans carry `service.name` = the
 * service, also when several services share a process, as in the embedded
 * default and the tests), and the flush on stop.
 *
 * Instrumentation asks `enabled` first and does nothing else when it is
 * false: no span objects, no header parsing, no SDK module loaded.
 */
export interface ServiceTracing {
  readonly enabled: boolean;
  readonly service: string;
  readonly tracer: Tracer;
  /** Exports what has ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops; spans started afterwards are dropped. */
  shutdown(): Promise<void>;
}

const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export const tracingOff = (service: string): ServiceTracing => ({
  enabled: false,
  service,
  // Never called while `enabled` is false; the API's tracer without a registered provider makes no-op spans.
  tracer: trace.getTracer('storefront-off'),
  flush: async () => {},
  shutdown: async () => {},
});

export interface TracingOptions {
  /**
   * How a span reaches the work it covers. `active` (the services): the span
   * is made the active one and travels across `await`s in an
   * AsyncLocalStorage, so SQL, events and log lines find it on their own.
   * `explicit` (the gateway): the caller hands each span's context on
   * itself (`inChildSpan`), and no AsyncLocalStorage is installed for this
   * service. The difference is cost: once an AsyncLocalStorage is in use,
   * Node 20 runs a hook on every promise the process creates, traced or not,
   * which made the gateway's every request ~8% dearer even with 10% of
   * traces sampled (bench/RESULTS.md, "What tracing costs the gateway").
   * @default 'active'
   */
  context?: 'active' | 'explicit';
}

/**
 * Starts tracing for one service when the configuration asks for it (an
 * OTLP endpoint set, OTEL_SDK_DISABLED not true). The SDK is imported only
 * then, so a process with tracing off never loads it.
 */
export async function startTracing(
  service: string,
  config: TelemetryConfig,
  options: TracingOptions = {},
): Promise<ServiceTracing> {
  const endpoint = tracesEndpoint(config);
  if (!endpoint) return tracingOff(service);
  const { createServiceTracing } = await import('./sdk.ts');
  return createServiceTracing(service, config, endpoint, options.context ?? 'active');
}

/**
 * Runs `work` in a new span (the active one while it runs), ending it when
 * `work` settles; a thrown error marks the span failed and is rethrown.
 * With tracing off it only runs `work`.
 */
export async function inSpan<T>(
  tracing: ServiceTracing,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T> | T,
  parent?: Context,
): Promise<T> {
  if (!tracing.enabled) return work(NOOP_SPAN);
  return inChildSpan(tracing, parent ?? context.active(), name, options, (span, spanContext) =>
    context.with(spanContext, () => work(span)),
  );
}

/**
 * Runs `work` in a new span, the child of `parent`, ending it when `work`
 * settles; a thrown error marks the span failed and is rethrown. Unlike
 * `inSpan`, the span is not made active: `work` gets its context to pass on
 * (TracingOptions `explicit`). With tracing off it only runs `work`, with
 * `parent` as the context.
 */
export async function inChildSpan<T>(
  tracing: ServiceTracing,
  parent: Context,
  name: string,
  options: SpanOptions,
  work: (span: Span, context: Context) => Promise<T> | T,
): Promise<T> {
  if (!tracing.enabled) return work(NOOP_SPAN, parent);
  const span = tracing.tracer.startSpan(name, options, parent);
  try {
    return await work(span, trace.setSpan(parent, span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with the error's type and message (messages here never hold variables or personal data). */
export function failSpan(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 200) });
  span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
}
