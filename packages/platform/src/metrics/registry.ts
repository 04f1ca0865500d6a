import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, trace, type Context } from '@opentelemetry/api';
import { collectDefaultMetrics, Registry, type OpenMetricsContentType } from 'prom-client';
import { sendError } from '../server/http.ts';

/**
 * The one way every process of the project keeps and serves Prometheus
 * metrics (prom-client): the gateway and each subgraph service make a
 * registry with `createRegistry()`, register their series in it and serve
 * it with `metricsRoute()`.
 *
 * Registries are kept in the OpenMetrics format, the one that carries
 * exemplars (the trace id of a request observed in a histogram bucket, so a
 * dashboard's slow bucket links to the trace). A scraper that asks for
 * OpenMetrics (Prometheus does) gets it; anything else gets the classic text
 * format, converted from it, without exemplars.
 */
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;
export const TEXT_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** A registry in the OpenMetrics format (the only kind that may hold exemplars). */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/** A registry for one service's series, each of them labelled with `labels` (e.g. `{ service: 'orders' }`). */
export function createRegistry(labels: Record<string, string> = {}): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  if (Object.keys(labels).length) registry.setDefaultLabels(labels);
  return registry;
}

/**
 * Node's process metrics (CPU, memory, event-loop delay, GC), once per
 * process: they describe the process, not one service (the embedded default
 * runs five in one), and each collector set keeps an event-loop monitor and a
 * GC observer running.
 */
let processRegistry: MetricsRegistry | undefined;
export function processMetrics(): MetricsRegistry {
  if (!processRegistry) {
    processRegistry = createRegistry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/** The registries (the process's first) in the format the `Accept` header asks for. */
export async function renderMetrics(
  registries: MetricsRegistry[],
  accept: string | undefined,
): Promise<RenderedMetrics> {
  const parts = await Promise.all([processMetrics(), ...registries].map((registry) => registry.metrics()));
  const openMetrics = parts.map((part) => part.replace(/# EOF\n?$/, '').replace(/\n*$/, '\n')).join('') + '# EOF\n';
  return wantsOpenMetrics(accept)
    ? { contentType: OPENMETRICS_CONTENT_TYPE, body: openMetrics }
    : { contentType: TEXT_CONTENT_TYPE, body: toTextFormat(openMetrics) };
}

const wantsOpenMetrics = (accept: string | undefined) =>
  typeof accept === 'string' && /application\/openmetrics-text/i.test(accept);

/** One sample line with an exemplar: `name{labels} value # {trace_id="…"} value timestamp`. */
const EXEMPLAR = /^([a-zA-Z_:][\w:]*(?:\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? \S+) # \{.*$/;

/**
 * OpenMetrics → Prometheus text 0.0.4: counters are named with their
 * `_total` in HELP and TYPE, exemplars and `# EOF` go.
 */
export function toTextFormat(openMetrics: string): string {
  const lines = openMetrics.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '# EOF' || line === '') continue;
    const type = /^# TYPE (\S+) counter$/.exec(line);
    if (type) {
      const help = out.at(-1);
      if (help?.startsWith(`# HELP ${type[1]} `))
        out[out.length - 1] = help.replace(` ${type[1]} `, ` ${type[1]}_total `);
      out.push(`# TYPE ${type[1]}_total counter`);
      continue;
    }
    out.push(line.startsWith('#') ? line : line.replace(EXEMPLAR, '$1'));
  }
  return out.join('\n') + '\n';
}

/** Serves the registries when `req` asks for `path`; true when it did. */
export function metricsRoute(
  path: string,
  registries: MetricsRegistry[],
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if ((req.url ?? '').split('?', 1)[0] !== path) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Metrics are read with GET', { allow: 'GET, HEAD' });
      return true;
    }
    renderMetrics(registries, req.headers.accept).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Metrics are unavailable'),
    );
    return true;
  };
}

/**
 * The exemplar of an observation: the trace id of the span in `ctx` (by
 * default the active one), when it is sampled (an unsampled trace exists
 * nowhere to link to). Empty, so no exemplar, when tracing is off.
 */
export function traceExemplar(ctx: Context = context.active()): Record<string, string> {
  const span = trace.getSpanContext(ctx);
  return span && span.traceFlags & 1 ? { trace_id: span.traceId } : {};
}

/**
 * Label values from callers (operation names, client apps) without unbounded
 * series: the first `max` distinct values (and every value in `known`) keep
 * their own, any later one is `other`. A flood of made-up names costs at
 * most `max` series per metric.
 */
export function boundedLabel(max: number, known: Iterable<string> = []): (value: string) => string {
  const allowed = new Set(known);
  const seen = new Set<string>();
  return (value) => {
    if (allowed.has(value) || seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}
