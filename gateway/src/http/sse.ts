import type { FormattedExecutionResult } from 'graphql';
import { createHandler, type ExecutionResult, type Response } from 'graphql-sse';
import type { GraphQLExchange } from '@storefront/platform/server';
import { sendError } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';
import type { AnswerWriter } from './respond.ts';
import { startStream } from './stream-writer.ts';
import type { HttpSubscriptions } from './subscriptions.ts';

/**
 * GraphQL over Server-Sent Events, "distinct connections" mode: one request
 * (`Accept: text/event-stream`) per operation, its results as `next` events
 * and a final `complete`. graphql-sse's own handler speaks the protocol
 * (framing, keep-alive comments, its refusals); what runs is decided by the
 * gateway's pipeline through subscriptions.ts, exactly as for multipart and
 * WebSocket subscriptions. Queries and mutations are answered over SSE too, as
 * the protocol allows. The "single connection" mode (reservations by PUT) is
 * not offered: every request is its own stream.
 */
export const acceptsEventStream = (accept: string): boolean => accept.includes('text/event-stream');

type SseRequestContext = { exchange: GraphQLExchange<GatewayContext>; subscriptions: HttpSubscriptions };

const handler = createHandler<unknown, SseRequestContext>({
  // No stream tokens: distinct connections only.
  authenticate: () => undefined,
  onSubscribe: async (req) => {
    const { exchange, subscriptions } = req.context;
    const opened = await subscriptions.open(exchange);
    if (opened.kind === 'refused') return jsonError(opened.status, opened.code, opened.message);
    if (opened.kind === 'stream') return opened.results as AsyncIterableIterator<ExecutionResult>;
    const { response } = opened;
    const body = response.body.kind === 'complete' ? response.body.string : undefined;
    // Executed (a query or mutation): one `next` event. Refused before execution: the pipeline's answer, as JSON.
    if ((response.status ?? 200) === 200 && body !== undefined) {
      const result = JSON.parse(body) as FormattedExecutionResult;
      if ('data' in result) return result as ExecutionResult;
    }
    return [
      body ?? null,
      {
        status: response.status ?? 400,
        statusText: 'Refused',
        headers: { 'content-type': response.headers.get('content-type') ?? 'application/json; charset=utf-8' },
      },
    ] satisfies Response;
  },
});

export async function serveEventStream(
  exchange: GraphQLExchange<GatewayContext>,
  subscriptions: HttpSubscriptions,
  answers: AnswerWriter,
): Promise<void> {
  const { req, res, request } = exchange;
  const [body, init] = await handler({
    method: request.method,
    url: req.url ?? '/',
    // graphql-sse matches the Accept header exactly; anything that asked for an event stream gets one.
    headers: { get: (key) => (key === 'accept' ? 'text/event-stream' : request.headers.get(key)) },
    body: (request.body ?? null) as Record<string, unknown> | string | null,
    raw: req,
    context: { exchange, subscriptions },
  });
  if (init.status !== 200 || typeof body === 'string' || body === null) return sendRefusal(exchange, body, init);

  // `content-encoding: none` is graphql-sse's way to keep proxies from buffering; ours is negotiated (and flushed per event).
  const { 'content-encoding': _none, ...headers } = init.headers ?? {};
  const out = startStream(req, res, { ...headers, vary: 'accept-encoding' }, answers.encodingFor(req));
  out.onClose(() => void body.return(undefined));
  try {
    for await (const chunk of body) {
      await out.write(chunk);
      if (out.closed) break;
    }
  } finally {
    out.end();
  }
}

/** graphql-sse's own refusals carry no code (and 406/415 no body): every refusal gets one here. */
function sendRefusal(
  exchange: GraphQLExchange<GatewayContext>,
  body: string | null | AsyncGenerator<string>,
  init: Response[1],
): void {
  const { res } = exchange;
  const { status } = init;
  if (typeof body === 'string') {
    let parsed: { errors?: { message?: string; extensions?: Record<string, unknown> }[] } | undefined;
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    const errors = parsed?.errors;
    if (errors?.length && errors.every((e) => e.extensions?.code)) {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
      return;
    }
    return sendError(res, status, 'BAD_REQUEST', errors?.[0]?.message ?? 'Bad request');
  }
  const code = status === 406 ? 'NOT_ACCEPTABLE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
  sendError(res, status, code, `${init.statusText} (GraphQL over SSE)`);
}

const jsonError = (status: number, code: string, message: string): Response => [
  JSON.stringify({ errors: [{ message, extensions: { code } }] }),
  { status, statusText: 'Refused', headers: { 'content-type': 'application/json; charset=utf-8' } },
];
