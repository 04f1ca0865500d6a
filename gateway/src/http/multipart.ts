import type { FormattedExecutionResult } from 'graphql';
import type { GraphQLExchange } from '@storefront/platform/server';
import { sendError } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';
import type { AnswerWriter } from './respond.ts';
import { startStream } from './stream-writer.ts';
import type { HttpSubscriptions } from './subscriptions.ts';

/**
 * Apollo's multipart HTTP protocol for subscriptions, which Apollo Client,
 * Apollo iOS and Apollo Kotlin speak: the client asks with
 * `Accept: multipart/mixed;subscriptionSpec=1.0`, and each event comes back
 * as one part `{"payload": <result>}`; an empty part `{}` every
 * MULTIPART_HEARTBEAT_MS keeps proxies from closing an idle response; an
 * error that ends the subscription (interrupted, token expired) is a
 * transport error, `{"payload": null, "errors": […]}`, before the closing
 * boundary.
 */
export const acceptsMultipartSubscription = (accept: string): boolean =>
  /multipart\/mixed[^,]*subscriptionSpec="?1\.0/i.test(accept);

const BOUNDARY = 'graphql';
const PART = `\r\n--${BOUNDARY}\r\ncontent-type: application/json; charset=utf-8\r\n\r\n`;
const CLOSE = `\r\n--${BOUNDARY}--\r\n`;

export async function serveMultipart(
  exchange: GraphQLExchange<GatewayContext>,
  subscriptions: HttpSubscriptions,
  answers: AnswerWriter,
  heartbeatMs: number,
): Promise<void> {
  const { req, res } = exchange;
  const opened = await subscriptions.open(exchange);
  if (opened.kind === 'refused') return sendError(res, opened.status, opened.code, opened.message);
  if (opened.kind === 'answer') return answers.write(req, res, opened.response);

  const { results } = opened;
  const out = startStream(
    req,
    res,
    { 'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`, vary: 'accept-encoding' },
    answers.encodingFor(req),
  );
  out.onClose(() => void results.return?.());
  const heartbeat = setInterval(() => void out.write(`${PART}{}`), heartbeatMs);
  try {
    await out.write(`${PART}{}`);
    for await (const result of results) {
      await out.write(PART + JSON.stringify(toPart(result)));
      if (out.closed) break;
    }
  } finally {
    clearInterval(heartbeat);
    out.end(CLOSE);
  }
}

/** An event with data is a payload; errors alone end the subscription, so they are the protocol's transport errors. */
const toPart = (result: FormattedExecutionResult) =>
  'data' in result ? { payload: result } : { payload: null, errors: result.errors ?? [] };
