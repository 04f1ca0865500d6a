import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { FormatError } from '../errors/index.ts';

export type { FormatError } from '../errors/index.ts';

/**
 * Formats execution errors the way Apollo Server does for HTTP responses
 * (default code INTERNAL_SERVER_ERROR, no `http` extension, then the server's
 * `formatError`), so a pushed event shows exactly what a query would.
 */
export function formatErrors(errors: readonly unknown[], formatError: FormatError): GraphQLFormattedError[] {
  return errors.map((error) => {
    const graphQLError =
      error instanceof GraphQLError ? error : new GraphQLError(String((error as Error)?.message ?? error));
    const { http: _http, ...extensions } = graphQLError.extensions ?? {};
    try {
      return formatError(
        { ...graphQLError.toJSON(), extensions: { ...extensions, code: extensions.code ?? 'INTERNAL_SERVER_ERROR' } },
        graphQLError,
      );
    } catch {
      return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
  });
}

/**
 * Errors the gateway itself raises on the socket. Their messages are written
 * for clients, so they are sent as they are (the server's masking is for
 * errors of unknown origin).
 */
export const SUBSCRIPTION_ERRORS = {
  /** The stream ended early (upstream connection lost, or the client fell behind); subscribe again, with `after` to resume. */
  interrupted: 'SUBSCRIPTION_INTERRUPTED',
  /** The subgraph serving the subscription could not be reached. */
  unavailable: 'SERVICE_UNAVAILABLE',
  /** More operations open on one socket than allowed. */
  tooManyOperations: 'TOO_MANY_OPERATIONS',
} as const;

export function clientError(code: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}
