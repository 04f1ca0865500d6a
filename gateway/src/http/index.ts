import { sendError, writeResponse, type GraphQLExchange } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';
import { resolveDocumentId } from './document-id.ts';
import { graphiqlEnv } from './graphiql.ts';

export { graphiqlRoute, type Route } from './graphiql.ts';

/**
 * What web and mobile apps meet at the gateway's HTTP edge, beyond GraphQL
 * over POST (which the platform's adapter serves):
 *
 *   graphiql          GraphiQL for developers at GET /graphql, built offline (graphiql-bundle)
 *   document-id       persisted documents by `documentId`, in a body or a GET
 */
export const httpEnv = { ...graphiqlEnv };

/** The gateway's handling of each GraphQL request, from its parsed body to the answer written. */
export function gatewayExchange(): (exchange: GraphQLExchange<GatewayContext>) => Promise<void> {
  return async (exchange) => {
    const persisted = resolveDocumentId(exchange.request);
    if (!persisted.ok) return sendError(exchange.res, 400, 'BAD_REQUEST', persisted.message);
    await writeResponse(exchange.res, await exchange.execute(persisted.request));
  };
}
