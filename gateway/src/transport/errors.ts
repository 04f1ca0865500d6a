import { GraphQLError } from 'graphql';

/**
 * What a client sees when a subgraph cannot be reached: a GraphQL error that
 * names the subgraph and carries a stable code, never the instance's address
 * or a stack trace (those go to the log).
 *
 * - SUBGRAPH_TIMEOUT: no complete answer within the subgraph's timeouts
 *   (traffic.yaml: `timeouts.request_ms` per attempt, `total_ms` in all).
 * - SUBGRAPH_UNAVAILABLE: no connection could be made, or it was lost before
 *   the answer, or the circuit breaker of every instance is open.
 * - SUBGRAPH_BAD_RESPONSE: an HTTP error status or a body that is not a
 *   GraphQL response. Masked as INTERNAL_SERVER_ERROR like any server fault:
 *   its body may hold the subgraph's internals.
 */
export const SUBGRAPH_ERROR_CODES = {
  timeout: 'SUBGRAPH_TIMEOUT',
  unavailable: 'SUBGRAPH_UNAVAILABLE',
  badResponse: 'SUBGRAPH_BAD_RESPONSE',
} as const;

/** How one fetch to one instance ended (also the `outcome` of a fetch event, for metrics). */
export type FetchOutcome = 'ok' | 'http_error' | 'timeout' | 'unreachable' | 'failed';

/**
 * A transport failure inside the gateway, before it becomes a client error.
 * `unreachable`: nothing was sent (refused, no route, connect timeout);
 * `failed`: the request may have been received (a reset, a closed
 * connection); `timeout`: no answer within `timeoutMs`; `circuit_open`:
 * nothing was sent because every instance's circuit breaker is open.
 */
export class SubgraphFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'unreachable' | 'failed' | 'circuit_open',
    readonly instance: string,
    cause: unknown,
    /** For a timeout: the limit that was reached. */
    readonly timeoutMs?: number,
  ) {
    super(`${kind} at ${instance}: ${describeCause(cause)}`, { cause });
    this.name = 'SubgraphFailure';
  }
}

/** Node and undici codes of a failure to connect: the request was never sent. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function classifyFailure(error: unknown, deadlinePassed: boolean): 'timeout' | 'unreachable' | 'failed' {
  if (deadlinePassed) return 'timeout';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECT_FAILURES.has(code) ? 'unreachable' : 'failed';
}

export function describeCause(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
}

/** One fresh error per caller (callers of a shared fetch each get their own). */
export function subgraphError(subgraph: string, error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const failure = error instanceof SubgraphFailure ? error : undefined;
  const kind = failure?.kind ?? 'failed';
  const [code, message] =
    kind === 'timeout'
      ? [SUBGRAPH_ERROR_CODES.timeout, `Subgraph "${subgraph}" did not answer within ${failure?.timeoutMs} ms`]
      : kind === 'unreachable' || kind === 'circuit_open'
        ? [SUBGRAPH_ERROR_CODES.unavailable, `Subgraph "${subgraph}" is unavailable`]
        : [SUBGRAPH_ERROR_CODES.unavailable, `Subgraph "${subgraph}" closed the connection before answering`];
  return new GraphQLError(message, { originalError: error as Error, extensions: { code, serviceName: subgraph } });
}

export function badResponse(subgraph: string, problem: string): GraphQLError {
  return new GraphQLError(`Subgraph "${subgraph}" ${problem}`, {
    extensions: { code: SUBGRAPH_ERROR_CODES.badResponse, serviceName: subgraph },
  });
}
