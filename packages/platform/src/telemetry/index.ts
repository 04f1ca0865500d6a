/**
 * Correlation (request ids on every answer) and OpenTelemetry tracing (off unless an OTLP endpoint is configured): the
 * per-service tracer, W3C trace context in and out, and the spans shared by
 * the gateway and the services (HTTP server, SQL, events).
 */
export { telemetryEnv, tracesEndpoint, type TelemetryConfig } from './config.ts';
export {
  startTracing,
  tracingOff,
  inSpan,
  inChildSpan,
  failSpan,
  type ServiceTracing,
  type TracingOptions,
} from './tracing.ts';
export { contextOf, formatTraceparent, parseTraceparent, traceparentOf } from './propagation.ts';
export { requestTraceContext, traceHttpServer, type HttpTracingOptions } from './http.ts';
export { startPublishSpans, traceConsumer, traceOf } from './events.ts';
export { traceStatements } from './sql.ts';
export { acceptRequestId, requestIdOf, withRequestId } from './request-id.ts';
