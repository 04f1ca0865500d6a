import type { Logger } from '@storefront/platform/logger';
import { maskErrors } from '@storefront/platform/server';
import { clientErrors } from './client-errors.ts';
import type { FormatError } from './format-error.ts';
import { exposeSubgraphErrors } from './subgraph-errors.ts';

export type { FormatError } from './format-error.ts';
export { requestIdOnErrors } from './request-id.ts';

/**
 * What a client sees of an error, over HTTP and on the WebSocket alike: the
 * platform's masking (public codes pass, anything else becomes
 * INTERNAL_SERVER_ERROR and is logged), subgraph timeouts and outages named
 * (subgraph-errors.ts), and in production no schema suggestions
 * (client-errors.ts). Errors are told apart by their type and code, never by
 * their message: Apollo Server's code-less persisted-query refusals are
 * refused earlier with a code of their own (http/persisted-query-checks.ts).
 */
export function gatewayFormatError(logger: Logger, options: { production: boolean }): FormatError {
  return clientErrors(exposeSubgraphErrors(maskErrors(logger)), { hideSuggestions: options.production });
}
