import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import type { GatewayContext } from '../context.ts';

/**
 * What browsers and CDNs are told they may keep. An answer is public only
 * when every field in it is public by the subgraphs' `@cacheControl` hints
 * (the policy Apollo's cache-control plugin computes from their answers), it
 * is a query without errors, and the caller sent no access token: then
 * `Cache-Control: public, max-age=<hint>` (capped by HTTP_CACHE_MAX_AGE_SECONDS,
 * since no invalidation event ever reaches a CDN), and the HTTP edge adds a
 * strong ETag and answers 304 to a matching If-None-Match (http/conditional.ts).
 * Everything else — per-user, staff-only, authenticated, errors, mutations —
 * is `private, no-store`.
 */
export function httpCacheHeaders(options: { maxAgeSeconds: number }): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, overallCachePolicy, operation, contextValue, errors }) {
          const policy = overallCachePolicy.policyIfCacheable();
          const body = response.body;
          const failed =
            (errors?.length ?? 0) > 0 || (body.kind === 'single' && (body.singleResult.errors?.length ?? 0) > 0);
          const publicAnswer =
            operation?.operation === OperationTypeNode.QUERY &&
            !failed &&
            contextValue.identity === null &&
            policy?.scope === 'PUBLIC' &&
            policy.maxAge > 0;
          const headers = response.http.headers;
          const maxAge = publicAnswer ? Math.min(policy.maxAge, options.maxAgeSeconds) : 0;
          if (maxAge > 0) {
            headers.set('cache-control', `public, max-age=${maxAge}`);
            // The same URL with a token may be answered otherwise (privately).
            headers.set('vary', 'authorization');
          } else headers.set('cache-control', 'private, no-store');
        },
      };
    },
  };
}
