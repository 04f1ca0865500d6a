import type {
  GatewayCachePolicy,
  GatewayExecutionResult,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';
import { env } from '@storefront/platform/config';
import { OperationTypeNode } from 'graphql';
import { stableStringify } from '@storefront/platform/auth';
import type { GatewayContext } from '../context.ts';
import { shareAnswer } from './shared-answer.ts';
import { wrapExecutor } from './wrap-executor.ts';

/**
 * Operation dedup: identical queries in flight at the same time share
 * one execution. The first to arrive (the leader) runs the query plan; the
 * others (followers) wait for its result instead of calling the subgraphs
 * again. When a popular page is requested by many clients at once, the
 * subgraphs see one request instead of hundreds.
 *
 * Where: around ApolloGateway's executor, the last step of Apollo Server's
 * request pipeline. So everything before execution still runs for every
 * request on its own — parsing, validation and operation limits, rate limits
 * (a follower spends its tokens like any request), persisted-only checks, a
 * response-cache hit (`responseForOperation`, which skips execution, so the
 * response cache always comes first whatever the plugin order) — and so does
 * everything after it: each follower's errors are formatted, masked and
 * logged by its own pipeline, and its cache policy is the leader's.
 *
 * Identical means: same document (Apollo's query hash: the sha256 of the
 * text), same operation name, same variables and same caller.
 *
 * Why keying by the caller makes it safe: the caller's identity is the only
 * per-request input that reaches the subgraphs (signed into every subgraph
 * call, transport/), and every authorization decision in the
 * subgraphs is made from it. Two requests with the same identity, document
 * and variables are therefore answered the same by the subgraphs, and a
 * result is only ever shared between requests of one user (or between
 * anonymous requests, which see only public data). Nothing crosses users.
 *
 * Never shared: mutations (each must run: two "add to stock" are two
 * changes) and subscriptions (served elsewhere). Nothing can hang: a
 * follower awaits the leader's own promise, which settles when its execution
 * does (bounded by the subgraph timeouts of traffic.yaml); an error or a rejection reaches every
 * follower as it reaches the leader, and the entry is removed either way.
 *
 * A shared answer is also serialized and compressed once (shared-answer.ts):
 * the HTTP layer finds it by each sharer's context and writes its bytes.
 */
export const operationDedupEnv = {
  OPERATION_DEDUP: env
    .bool(true)
    .describe('Identical in-flight queries (same operation, variables and caller) share one execution.'),
};

export interface OperationDedupStats {
  /** Executions running now that others may join. */
  inFlight(): number;
  /** Requests waiting now for another request's execution. */
  waiting(): number;
  /** Requests answered so far by another request's execution. */
  shared: () => number;
  /** Shared answers turned into text so far: once each, however many requests share one. */
  answersSerialized: () => number;
}

export interface OperationDedup {
  /** The gateway to hand Apollo Server: its executor shares identical in-flight queries. */
  admit(gateway: GatewayInterface): GatewayInterface;
  stats: OperationDedupStats;
}

interface Flight {
  result: Promise<GatewayExecutionResult>;
  leader: GatewayGraphQLRequestContext;
  /** Requests that joined while the leader ran. */
  followers: number;
}

export function operationDedup(options: { enabled: boolean }): OperationDedup {
  const flights = new Map<string, Flight>();
  let waiting = 0;
  let shared = 0;
  let answersSerialized = 0;
  const countSerialization = () => void answersSerialized++;

  /** Hands a sharer of the flight's answer its SharedAnswer, so its text and bytes are made once for all. */
  const attachAnswer = (requestContext: GatewayGraphQLRequestContext, result: GatewayExecutionResult) => {
    if (typeof result.data !== 'object' || result.data === null) return;
    shareAnswer(requestContext.context, result.data, countSerialization);
  };

  const follow = async (
    flight: Flight,
    requestContext: GatewayGraphQLRequestContext,
  ): Promise<GatewayExecutionResult> => {
    waiting++;
    flight.followers++;
    try {
      const result = await flight.result;
      shared++;
      attachAnswer(requestContext, result);
      // What the subgraphs said about caching this answer (Cache-Control) was recorded on the leader's policy.
      // (The gateway interface types the policy as `any`; Apollo Server hands its CachePolicy.)
      (requestContext.overallCachePolicy as GatewayCachePolicy | undefined)?.restrict?.(
        flight.leader.overallCachePolicy as GatewayCachePolicy,
      );
      // A copy of the top level: plugins may add response extensions to one request's result, not to all.
      return { ...result, ...(result.extensions ? { extensions: { ...result.extensions } } : {}) };
    } finally {
      waiting--;
    }
  };

  return {
    stats: {
      inFlight: () => flights.size,
      waiting: () => waiting,
      shared: () => shared,
      answersSerialized: () => answersSerialized,
    },
    admit(gateway) {
      if (!options.enabled) return gateway;
      return wrapExecutor(gateway, (execute) => async (requestContext) => {
        const key = flightKey(requestContext);
        if (key === undefined) return execute(requestContext);
        const inFlight = flights.get(key);
        if (inFlight) return follow(inFlight, requestContext);
        const flight: Flight = {
          result: Promise.resolve().then(() => execute(requestContext)),
          leader: requestContext,
          followers: 0,
        };
        flights.set(key, flight);
        try {
          const result = await flight.result;
          if (flight.followers > 0) attachAnswer(requestContext, result);
          return result;
        } finally {
          flights.delete(key);
        }
      });
    },
  };
}

/** The sharing key, or undefined when the operation must run on its own. */
function flightKey(requestContext: GatewayGraphQLRequestContext): string | undefined {
  if (requestContext.operation?.operation !== OperationTypeNode.QUERY) return undefined;
  const { request, queryHash } = requestContext;
  if (!queryHash) return undefined;
  const identity = (requestContext.context as Partial<GatewayContext>).identity ?? null;
  return stableStringify([
    queryHash,
    request.operationName ?? null,
    // Everything of the identity, since all of it is what the subgraphs are told (today: user id and role).
    identity,
    // Keys in any order: two apps (or two versions of one) may send the same variables differently.
    request.variables ?? null,
    // Outside production, Apollo's gateway adds the plan to the response when asked by this header.
    request.http?.headers.get('apollo-query-plan-experimental') ?? null,
  ]);
}
