import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { PUBLIC_ERROR_CODES } from '../errors/index.ts';
import type { Logger } from '../logger/logger.ts';

/**
 * Clients see an error's message only when it carries one of the public
 * codes; everything else (a database error, a bug) becomes a bare
 * INTERNAL_SERVER_ERROR and is logged with its detail here instead.
 */
export function maskErrors(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && PUBLIC_ERROR_CODES.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: unwrapResolverError(error), path: formatted.path }, 'unexpected error in request');
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
