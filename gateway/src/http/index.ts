import { sendError, type GraphQLExchange } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';
import { sharedAnswerOf } from '../execution/index.ts';
import type { FederatedSubscriptions } from '../subscriptions/index.ts';
import { persistedQueryRefusal } from './persisted-query-checks.ts';
import { resolveDocumentId } from './document-id.ts';
import { graphiqlEnv } from './graphiql.ts';
import { acceptsMultipartSubscription, serveMultipart } from './multipart.ts';
import { answerWriter, compressionEnv, type CompressionConfig } from './respond.ts';
import { acceptsEventStream, serveEventStream } from './sse.ts';
import { httpSubscriptionEnv, httpSubscriptions, type HttpSubscriptionConfig } from './subscriptions.ts';

export { graphiqlRoute, type Route } from './graphiql.ts';
export { compressors } from './respond.ts';

/**
 * What web and mobile apps meet at the gateway's HTTP edge, beyond GraphQL
 * over POST (which the platform's adapter serves):
 *
 *   graphiql          GraphiQL for developers at GET /graphql, built offline (graphiql-bundle)
 *   document-id       persisted documents by `documentId`, in a body or a GET
 *   persisted-query-checks  an APQ extension of another version, or a hash not its query's, refused with a code
 *   subscriptions     subscriptions over HTTP, on the WebSocket's path: multipart (Apollo) and SSE (graphql-sse)
 *   respond           answers compressed (gzip, Brotli; streams flushed per part), ETag and 304 for public ones
 */
export const httpEnv = { ...graphiqlEnv, ...httpSubscriptionEnv, ...compressionEnv };

export interface GatewayHttp {
  /** The platform adapter's `exchange`: each GraphQL request from its parsed body to the answer written. */
  exchange: (exchange: GraphQLExchange<GatewayContext>) => Promise<void>;
  /** Subscriptions streaming over HTTP right now. */
  openStreams: () => number;
}

export function gatewayHttp(options: {
  config: HttpSubscriptionConfig & CompressionConfig;
  subscriptions: Pick<FederatedSubscriptions, 'stream'>;
}): GatewayHttp {
  const streams = httpSubscriptions(options);
  const answers = answerWriter(options.config);
  return {
    openStreams: streams.openStreams,
    async exchange(exchange) {
      const persisted = resolveDocumentId(exchange.request);
      if (!persisted.ok) return sendError(exchange.res, 400, 'BAD_REQUEST', persisted.message);
      const refusal = persistedQueryRefusal(persisted.request);
      if (refusal) return sendError(exchange.res, 400, refusal.code, refusal.message);
      const current = { ...exchange, request: persisted.request };
      const accept = current.request.headers.get('accept') ?? '';
      if (acceptsEventStream(accept)) return serveEventStream(current, streams, answers);
      if (acceptsMultipartSubscription(accept))
        return serveMultipart(current, streams, answers, options.config.MULTIPART_HEARTBEAT_MS);
      const response = await current.execute(current.request);
      await answers.write(current.req, current.res, response, sharedAnswerOf(current.context));
    },
  };
}
