/**
 * Prometheus metrics, one way for every process: registries in the
 * OpenMetrics format (exemplars carry trace ids), served at /metrics in the
 * format the scraper asks for, and bounded labels for values callers choose.
 */
export {
  boundedLabel,
  createRegistry,
  metricsRoute,
  OPENMETRICS_CONTENT_TYPE,
  processMetrics,
  renderMetrics,
  TEXT_CONTENT_TYPE,
  toTextFormat,
  traceExemplar,
  type MetricsRegistry,
  type RenderedMetrics,
} from './registry.ts';
export { Counter, Gauge, Histogram } from 'prom-client';
