import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { operationCost } from './cost.ts';

export const COST_LIMIT_EXCEEDED = 'COST_LIMIT_EXCEEDED';

/**
 * Refuses an operation whose cost (see cost.ts) is above `maxCost`, with
 * COST_LIMIT_EXCEEDED and HTTP 400, before the gateway plans it or calls any
 * subgraph. A plugin rather than a validation rule because the cost depends on
 * the request's variables (`first: $n`), and Apollo Server caches validation
 * per document, not per request.
 */
export function costLimitPlugin(options: {
  maxCost: number;
  defaultListSize: number;
}): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const cost = operationCost({
            schema,
            document,
            operation,
            variables: request.variables ?? {},
            defaultListSize: options.defaultListSize,
          });
          if (cost <= options.maxCost) return;
          throw new GraphQLError(
            `Operation cost ${cost} exceeds the limit of ${options.maxCost}. Cost counts the objects an operation can return: ` +
              `each list multiplies what is under it by its page size (\`first\`, ${options.defaultListSize} when not given); ask for smaller pages.`,
            {
              extensions: {
                code: COST_LIMIT_EXCEEDED,
                limit: 'cost',
                cost,
                maxCost: options.maxCost,
                http: { status: 400 },
              },
            },
          );
        },
      };
    },
  };
}
