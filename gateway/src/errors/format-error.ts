import type { GraphQLFormattedError } from 'graphql';

/** Apollo Server's `formatError`: what a client may see of an error. */
export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
