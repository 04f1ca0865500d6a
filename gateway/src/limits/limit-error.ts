import { GraphQLError, type ASTNode } from 'graphql';

/** Which limit refused an operation; clients read it from `extensions.limit`. */
export type LimitName = 'depth' | 'aliases' | 'directives' | 'rootFields' | 'cost';

/**
 * A validation-rule refusal. Apollo Server answers validation errors with
 * HTTP 400 and sets `extensions.code` to GRAPHQL_VALIDATION_FAILED itself;
 * `extensions.limit` tells a client which limit it ran into.
 */
export function limitExceeded(limit: LimitName, message: string, node: ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes: [node], extensions: { limit } });
}
