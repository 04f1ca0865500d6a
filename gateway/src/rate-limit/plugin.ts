import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { Kind, GraphQLError, type FragmentDefinitionNode } from 'graphql';
import type { GatewayContext } from '../context.ts';
import type { RateLimiter } from './limiter.ts';

/**
 * Applies the rate limiter once the operation is known (parsed, validated
 * and chosen) and before any subgraph is called. A refusal is a GraphQL
 * error with code RATE_LIMITED, HTTP 429 and Retry-After in seconds.
 */
export function rateLimitPlugin(limiter: RateLimiter): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          if (!operation) return; // Apollo has refused the request already
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          const refusal = await limiter.check(operation, fragments, request.variables, {
            identity: contextValue.identity,
            clientIp: contextValue.clientIp ?? 'unknown',
          });
          if (refusal) throw rateLimited(refusal.retryAfterSeconds);
        },
      };
    },
  };
}

export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many requests; retry in ${retryAfterSeconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter: retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
