import { HeaderMap, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { GraphQLExchange } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';
import { attachTicket, clientError, SUBSCRIPTION_ERRORS, type FederatedSubscriptions } from '../subscriptions/index.ts';

/**
 * Subscriptions over plain HTTP, for clients and networks that do better
 * without WebSockets: Apollo's multipart protocol (multipart.ts) and GraphQL
 * over Server-Sent Events (sse.ts). Both come through here, onto the path the
 * WebSocket's subscriptions take: the request runs through Apollo Server's
 * pipeline with the HTTP request's own context (its Authorization header
 * verified as for any query, CSRF prevention, limits, rate limits), is
 * admitted and planned there (subscriptions/admission.ts), and is streamed by
 * the same federated stream (upstream sharing, resume with `after`, bounded
 * buffers). What is not a subscription comes back as its one answer.
 *
 * Each caller (a user, or an address when anonymous) may hold a bounded
 * number of streams open at once; a stream opened with an access token ends
 * with UNAUTHENTICATED when the token expires, as a socket is closed then.
 */
export const httpSubscriptionEnv = {
  HTTP_MAX_STREAMS_PER_CALLER: z.coerce
    .number()
    .int()
    .min(1, 'must be at least 1')
    .default(10)
    .describe(
      'Subscriptions one caller (user, or address when anonymous) may hold open over HTTP at once, multipart and SSE together.',
    ),
  MULTIPART_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(100, 'must be at least 100')
    .default(5_000)
    .describe(
      "Interval of the empty heartbeat part of a multipart subscription (Apollo's protocol); proxies close idle responses.",
    ),
};

export interface HttpSubscriptionConfig {
  HTTP_MAX_STREAMS_PER_CALLER: number;
  MULTIPART_HEARTBEAT_MS: number;
}

export type Opened =
  | { kind: 'stream'; results: AsyncIterableIterator<FormattedExecutionResult> }
  /** Not a subscription, or refused by the pipeline: Apollo Server's answer as it is. */
  | { kind: 'answer'; response: HTTPGraphQLResponse }
  | { kind: 'refused'; status: number; code: string; message: string };

export interface HttpSubscriptions {
  open(exchange: GraphQLExchange<GatewayContext>): Promise<Opened>;
  /** Streams open over HTTP (tests, metrics). */
  openStreams: () => number;
}

export function httpSubscriptions(options: {
  config: HttpSubscriptionConfig;
  subscriptions: Pick<FederatedSubscriptions, 'stream'>;
}): HttpSubscriptions {
  const max = options.config.HTTP_MAX_STREAMS_PER_CALLER;
  const perCaller = new Map<string, number>();
  let total = 0;
  const release = (caller: string) => {
    total--;
    const left = (perCaller.get(caller) ?? 1) - 1;
    if (left > 0) perCaller.set(caller, left);
    else perCaller.delete(caller);
  };

  return {
    openStreams: () => total,
    async open(exchange) {
      const { context, req } = exchange;
      const caller = context.identity ? `user:${context.identity.userId}` : `address:${context.clientIp ?? 'unknown'}`;
      if ((perCaller.get(caller) ?? 0) >= max) {
        return {
          kind: 'refused',
          status: 429,
          code: SUBSCRIPTION_ERRORS.tooManyOperations,
          message: `At most ${max} subscriptions may be open over HTTP at once; end one first`,
        };
      }
      // Reserved before the pipeline runs, so concurrent requests cannot all pass the check.
      perCaller.set(caller, (perCaller.get(caller) ?? 0) + 1);
      total++;
      let admitted = false;
      try {
        const ticket = attachTicket(context);
        const response = await exchange.execute(asJsonRequest(exchange.request));
        if (!ticket.admitted) return { kind: 'answer', response };
        admitted = true;
        const expiresAt = context.identity ? tokenExpiry(req.headers.authorization) : undefined;
        return {
          kind: 'stream',
          results: endingAt(options.subscriptions.stream(ticket.admitted), expiresAt, () => release(caller)),
        };
      } finally {
        if (!admitted) release(caller);
      }
    },
  };
}

/** The pipeline speaks JSON; the streaming protocols' framing is ours. */
function asJsonRequest(request: HTTPGraphQLRequest): HTTPGraphQLRequest {
  const headers = new HeaderMap(request.headers);
  headers.set('accept', 'application/json');
  return { ...request, headers };
}

function tokenExpiry(authorization: string | undefined): number | undefined {
  if (!authorization) return undefined;
  // Verified by the context already; only its expiry is read here.
  const { exp } = decodeJwt(authorization.trim().replace(/^Bearer\s+/i, ''));
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/**
 * The stream, ended with UNAUTHENTICATED when the token that opened it
 * expires; `onEnd` runs once, however it ends.
 */
function endingAt(
  results: AsyncIterableIterator<FormattedExecutionResult>,
  expiresAt: number | undefined,
  onEnd: () => void,
): AsyncIterableIterator<FormattedExecutionResult> {
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    onEnd();
  };
  const EXPIRED = Symbol('expired');
  const expired =
    expiresAt === undefined
      ? new Promise<never>(() => {})
      : new Promise<typeof EXPIRED>((resolve) => {
          // setTimeout's limit is ~24.8 days; never overflow into "fire now".
          timer = setTimeout(() => resolve(EXPIRED), Math.min(Math.max(expiresAt - Date.now(), 0), 2 ** 31 - 1));
        });
  return {
    async next() {
      if (finished) return { value: undefined, done: true };
      const next = await Promise.race([results.next(), expired]);
      if (next === EXPIRED) {
        finish();
        await results.return?.();
        const error = clientError('UNAUTHENTICATED', 'Access token has expired; subscribe again with a new one');
        return { value: { errors: [error.toJSON()] }, done: false };
      }
      if (next.done) finish();
      return next;
    },
    async return() {
      finish();
      await results.return?.();
      return { value: undefined, done: true };
    },
    // graphql-sse ends only what looks like a generator (next, return and throw).
    async throw() {
      return this.return!();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
