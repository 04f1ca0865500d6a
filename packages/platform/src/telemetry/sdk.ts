import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { parseKeyValues, type TelemetryConfig } from './config.ts';

/**
 * The OpenTelemetry SDK, loaded only when tracing is on (tracing.ts).
 *
 * One tracer provider per service rather than the global one: services that
 * share a process (the embedded default, the tests) each report under their
 * own `service.name`. The context manager is global and installed once, by
 * the first service that makes its spans active (`context: 'active'`): it
 * is what carries the active span across `await`s. A process of a service
 * that passes contexts explicitly (the gateway) installs none, and so pays
 * nothing for it.
 */
let contextManager: AsyncLocalStorageContextManager | undefined;

// Its return type is checked where tracing.ts takes it (as ServiceTracing): a type import back would make a cycle.
export function createServiceTracing(
  service: string,
  config: TelemetryConfig,
  url: string,
  spanContext: 'active' | 'explicit',
) {
  if (!contextManager && spanContext === 'active') {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  const exporter = new OTLPTraceExporter({
    url,
    headers: parseKeyValues(config.OTEL_EXPORTER_OTLP_HEADERS),
    timeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...parseKeyValues(config.OTEL_RESOURCE_ATTRIBUTES),
      'service.name': service,
      'service.namespace': 'storefront',
      'service.instance.id': randomUUID(),
    }),
    sampler: samplerOf(config),
    spanProcessors: [
      // Spans are queued and exported in the background; a slow or unreachable collector costs
      // requests nothing, and the queue's bound drops spans instead of growing memory.
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
        maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: Math.min(512, config.OTEL_BSP_MAX_QUEUE_SIZE),
        exportTimeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT,
      }),
    ],
  });
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    service,
    tracer: provider.getTracer('storefront'),
    flush: () => bounded(provider.forceFlush()),
    shutdown: () => (stopped ??= bounded(provider.shutdown())),
  };
}

/** A collector that is down must not hold a stop for the exporter's whole timeout: what is not out in 2 s is dropped. */
function bounded(work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000).unref()));
  return Promise.race([work.catch(() => {}), deadline]).finally(() => clearTimeout(timer));
}

function samplerOf(config: TelemetryConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG ?? 1);
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
