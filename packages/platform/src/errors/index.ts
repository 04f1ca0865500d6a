import { GraphQLError } from 'graphql';

/**
 * Errors a client may see. Each carries a stable `extensions.code`; anything
 * else thrown in a resolver is masked as INTERNAL_SERVER_ERROR by the server.
 */
export class NotFoundError extends GraphQLError {
  constructor(what: string, id: string) {
    super(`${what} ${id} was not found`, { extensions: { code: 'NOT_FOUND', http: { status: 200 } } });
  }
}

export class BadUserInputError extends GraphQLError {
  /** `field` is the input path a client can point at, e.g. `input.items[0].quantity`. */
  constructor(message: string, field?: string) {
    super(message, { extensions: { code: 'BAD_USER_INPUT', ...(field ? { field } : {}) } });
  }
}

export class UnauthenticatedError extends GraphQLError {
  constructor(message = 'You must be signed in') {
    super(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 200 } } });
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(message = 'You are not allowed to do this') {
    super(message, { extensions: { code: 'FORBIDDEN' } });
  }
}

/** A request that conflicts with the current state, e.g. paying a cancelled order. */
export class ConflictError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: 'CONFLICT' } });
  }
}

/** Codes that are safe to show as-is; the server masks every other error. */
export const PUBLIC_ERROR_CODES = new Set([
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CONFLICT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'RATE_LIMITED',
  'PERSISTED_QUERY_REQUIRED',
  // Gateway operation limits (gateway/src/limits/index.ts).
  'COST_LIMIT_EXCEEDED',
  'PERSISTED_QUERY_HASH_MISMATCH',
]);
