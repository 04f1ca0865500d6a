import { z } from 'zod';

/**
 * Settings of the WebSocket endpoint and of the gateway's upstream
 * subscription connections, read from the gateway's environment (spread into
 * `gatewayConfigSchema`). Every default is safe for a public endpoint; the
 * reasoning sits next to each number.
 */
const atLeast = (min: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .default(fallback);

export const subscriptionEnv = {
  /**
   * Operations open at once on one socket (subscriptions plus queries in
   * flight). An app screen needs a handful; each open subscription holds an
   * upstream operation and a buffer, so this bounds what one socket can cost.
   */
  WS_MAX_OPERATIONS: atLeast(1, 20).describe(
    'Operations open at once on one socket (subscriptions and queries in flight); more get TOO_MANY_OPERATIONS.',
  ),
  WS_MAX_MESSAGES_PER_SECOND: atLeast(1, 20).describe(
    'Messages a socket may send per second, sustained; a flood is closed with 1013 (try again later, which clients retry).',
  ),
  WS_MESSAGE_BURST: atLeast(1, 60).describe(
    'Messages a socket may send in a burst above the sustained rate (e.g. an app resubscribing after a reconnect).',
  ),
  WS_MAX_MESSAGE_BYTES: atLeast(1024, 256 * 1024).describe(
    'Largest message accepted; larger ones close the socket (1009). Same default as MAX_BODY_BYTES for HTTP.',
  ),
  WS_CONNECTION_INIT_TIMEOUT_MS: atLeast(100, 5_000).describe(
    'A socket that has not sent `connection_init` by then is closed (4408): half-open sockets cost memory.',
  ),
  WS_KEEPALIVE_MS: atLeast(1_000, 12_000).describe(
    'Ping interval to clients; one that misses a pong within the next interval is dropped.',
  ),
  /**
   * Events buffered for one subscription whose client (or whose entity
   * fetches) cannot keep up; beyond it the subscription ends with
   * SUBSCRIPTION_INTERRUPTED and the client resubscribes (with `after`).
   */
  WS_MAX_BUFFERED_EVENTS: atLeast(1, 100).describe(
    'Events buffered for one subscription whose client cannot keep up; beyond it the subscription ends with SUBSCRIPTION_INTERRUPTED.',
  ),
  UPSTREAM_WS_KEEPALIVE_MS: atLeast(1_000, 10_000).describe(
    "Ping interval on the gateway's own connection to each subgraph; a missed pong drops the connection.",
  ),
  /**
   * Connection attempts to a subgraph (backoff 0.25 s, 0.5 s, 1 s … capped at
   * 10 s) before waiting subscriptions fail: 5 waits about 4–8 s, which is
   * also how long a resumed subscription waits for a lone restarting instance.
   */
  UPSTREAM_WS_RETRY_ATTEMPTS: atLeast(0, 5).describe(
    'Connection attempts to a subgraph (backoff from 0.25 s, capped at 10 s) before the subscriptions waiting for it fail.',
  ),
};

export type SubscriptionConfig = { [K in keyof typeof subscriptionEnv]: number };
