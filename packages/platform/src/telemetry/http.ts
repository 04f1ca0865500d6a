import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link } from '@opentelemetry/api';
import { parseTraceparent } from './propagation.ts';
import type { ServiceTracing } from './tracing.ts';

export interface HttpTracingOptions {
  /**
   * `continue`: a valid `traceparent` from the caller is the parent of the
   * server span (the caller's trace goes on). `link`: every request starts a
   * trace of its own and only links to the caller's, for endpoints where
   * callers must not choose trace ids or sampling (the public edge).
   * @default 'continue'
   */
  callerContext?: 'continue' | 'link';
  /**
   * `active`: the request's span is the active one while the handler runs.
   * `explicit`: it is not; the handler asks `requestTraceContext(req)` for it
   * and passes it on (TracingOptions in tracing.ts).
   * @default 'active'
   */
  context?: 'active' | 'explicit';
}

const REQUEST_CONTEXTS = new WeakMap<IncomingMessage, Context>();

/** The context holding `req`'s server span (traceHttpServer with `context: 'explicit'`); undefined with tracing off. */
export function requestTraceContext(req: IncomingMessage): Context | undefined {
  return REQUEST_CONTEXTS.get(req);
}

/**
 * Wraps an HTTP handler in a SERVER span per request, active while the
 * handler runs (so everything it does is its child) or handed to it
 * (`context: 'explicit'`), ended when the answer
 * is sent or the connection closes. A malformed `traceparent` is ignored.
 * Attributes follow the HTTP semantic conventions, without the query string
 * (a GET carries its variables there) or the client's address.
 */
export function traceHttpServer(
  tracing: ServiceTracing,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpTracingOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (!tracing.enabled) return handler;
  const link = options.callerContext === 'link';
  const explicit = options.context === 'explicit';
  return (req, res) => {
    const header = req.headers.traceparent;
    const caller = typeof header === 'string' ? parseTraceparent(header) : undefined;
    const parent = caller && !link ? trace.setSpanContext(ROOT_CONTEXT, caller) : ROOT_CONTEXT;
    const links: Link[] = caller && link ? [{ context: caller }] : [];
    const path = pathOf(req.url);
    const span = tracing.tracer.startSpan(
      // The path names the span only when it looks like a route: scanners' random paths must not multiply span names.
      ROUTE.test(path) ? `${req.method ?? 'GET'} ${path}` : (req.method ?? 'GET'),
      {
        kind: SpanKind.SERVER,
        links,
        attributes: {
          'http.request.method': req.method ?? 'GET',
          'url.path': path,
          'url.scheme': 'http',
          'network.protocol.version': req.httpVersion,
        },
      },
      parent,
    );
    const spanContext = trace.setSpan(parent, span);
    if (span.isRecording()) {
      // An unsampled span records nothing: no need to watch for the end of its answer.
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
    }
    if (explicit) {
      REQUEST_CONTEXTS.set(req, spanContext);
      handler(req, res);
    } else context.with(spanContext, () => handler(req, res));
  };
}

const ROUTE = /^\/[a-z0-9._/-]{0,40}$/i;

/** The path alone, bounded: never the query string. */
function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0]!;
  return path.length > 200 ? path.slice(0, 200) : path;
}
