import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { pino } from 'pino';
import { signConnection, signSubgraphRequest, signSubscription } from '../auth/gateway-signature.ts';
import type { Identity } from '../auth/identity.ts';
import type { EventBus } from '../events/bus.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import type { Logger } from '../logger/logger.ts';

/**
 * Helpers for the project's tests. Tests run against the real backends when
 * the test command provides them (TEST_DATABASE_URL, KAFKA_BROKERS,
 * REDIS_URL); each test file gets its own fresh database and its own Kafka
 * topic prefix, so files run in parallel without seeing each other's data.
 */
export const TEST_SECRET = 'test-subgraph-secret-0123456789';

/**
 * A loopback port nothing listens on right now (the system picks it; we
 * listen and close): for a process a test starts on a port of its own, or a
 * "server down" address that refuses connections.
 */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

/** Calls a subgraph directly, signed as the gateway would sign it. */
export async function callSubgraph<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity: Identity | null = null,
  secret = TEST_SECRET,
  /** More of the request body, e.g. `{ operationName }`. */
  more: Record<string, unknown> = {},
): Promise<GraphQLResult<T>> {
  const body = JSON.stringify({ query, variables, ...more });
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signSubgraphRequest(secret, body, identity) },
    body,
  });
  return { status: res.status, ...((await res.json()) as object) };
}

export type SubgraphCaller = <T = Record<string, any>>(
  query: string,
  variables?: Record<string, unknown>,
  identity?: Identity | null,
) => Promise<GraphQLResult<T>>;

/** `callSubgraph` bound to one running service, as its tests call it. */
export function subgraphCaller(service: { url: string }): SubgraphCaller {
  return (query, variables = {}, identity = null) => callSubgraph(service.url, query, variables, identity);
}

/** Creates a fresh PostgreSQL database on the test server; undefined when tests run embedded. */
export async function createTestDatabase(): Promise<string | undefined> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return undefined;
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Environment for starting services in a test: real PostgreSQL/Kafka when the
 * test command provides them, else the embedded adapters in a temp dir.
 * PostgreSQL only together with Kafka, as services run on it (a service on
 * PostgreSQL without Kafka refuses to start: see assertSharedBus).
 * Pass `embedded: true` to force the embedded adapters (contract tests).
 */
export async function serviceTestEnv(options: { embedded?: boolean } = {}): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
    SUBGRAPH_SECRET: TEST_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'storefront-test-')),
    PASSWORD_HASH_COST: '10',
    USERS_PORT: '0',
    PRODUCTS_PORT: '0',
    ORDERS_PORT: '0',
    NOTIFICATIONS_PORT: '0',
  };
  if (options.embedded) return env;
  const databaseUrl = process.env.KAFKA_BROKERS ? await createTestDatabase() : undefined;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (process.env.KAFKA_BROKERS) {
    env.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    env.KAFKA_TOPIC_PREFIX = `t${randomBytes(4).toString('hex')}.`;
  }
  if (process.env.REDIS_URL) {
    env.REDIS_URL = process.env.REDIS_URL;
    env.REDIS_KEY_PREFIX = `t${randomBytes(4).toString('hex')}:`;
  }
  return env;
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface EventRecorder {
  /** Events in arrival order. */
  events: EventEnvelope[];
  stop(): Promise<void>;
}

/**
 * Records what is published on `topics`, as another service would see it.
 * A group of its own per recorder, so it shares no events with the service's
 * consumers or another recorder; a new group starts at the beginning of each
 * topic, so nothing published before it joined is missed.
 */
export async function recordEvents(bus: EventBus, topics: string[]): Promise<EventRecorder> {
  const events: EventEnvelope[] = [];
  await bus.ensureTopics(topics);
  const handle = await bus.consume({
    groupId: `test-recorder-${randomBytes(6).toString('hex')}`,
    topics,
    handler: async ({ event }) => void events.push(event),
  });
  return { events, stop: () => handle.stop() };
}

export interface CapturedLogs {
  logger: Logger;
  /** Every record logged so far, parsed. */
  records: Record<string, any>[];
  /** Records whose `msg` matches, or whose `event` equals the string. */
  find(match: string | RegExp): Record<string, any>[];
}

/** A logger that keeps its records in memory, for tests that assert on logs (audit records, fallbacks). */
export function captureLogs(level = 'info'): CapturedLogs {
  const records: Record<string, any>[] = [];
  const logger = pino({ level }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return {
    logger,
    records,
    find: (match) =>
      records.filter((r) =>
        typeof match === 'string' ? r.event === match || r.msg === match : match.test(String(r.msg)),
      ),
  };
}

export interface SubscriptionResult<T = Record<string, any>> {
  data?: T | null;
  errors?: GraphQLResult['errors'];
  extensions?: Record<string, unknown>;
}

export interface TestSubscription<T = Record<string, any>> {
  /** The `next` payloads, in arrival order. */
  results: SubscriptionResult<T>[];
  /** Why it ended, if not by `complete`: the `error` message's errors, or the socket's close event. */
  error: unknown;
  /** Settles when the server completes the operation, refuses it, or the socket closes. */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Waits until at least `count` results have arrived; returns them all. */
  waitFor(count: number, timeoutMs?: number): Promise<SubscriptionResult<T>[]>;
  /** Leaves, as a client does (sends `complete`). */
  unsubscribe(): void;
}

export interface SubgraphSocket {
  client: Client;
  /**
   * Subscribes as the gateway would for `identity`: the operation signed in
   * `extensions.storefront`. `extensions` replaces the signed extensions (to
   * test unsigned or forged operations).
   */
  subscribe<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    identity?: Identity | null,
    options?: { extensions?: Record<string, unknown> },
  ): TestSubscription<T>;
  close(): Promise<void>;
}

/**
 * A graphql-ws connection to a subgraph, opened as the gateway opens it
 * (`connectionParams` signed) unless `connectionParams` says otherwise. One
 * socket carries every subscription, like the gateway's multiplexed one.
 */
export function connectSubgraph(
  service: { url: string },
  options: { secret?: string; connectionParams?: Record<string, unknown> } = {},
): SubgraphSocket {
  const secret = options.secret ?? TEST_SECRET;
  const client = createClient({
    url: service.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: () => options.connectionParams ?? signConnection(secret),
    lazy: true,
    // Keeps one socket across back-to-back operations, like the gateway's; short, because dispose() leaves this timer running.
    lazyCloseTimeout: 1_000,
    retryAttempts: 0,
    shouldRetry: () => false,
  });
  return {
    client,
    subscribe: <T>(
      query: string,
      variables: Record<string, unknown> = {},
      identity: Identity | null = null,
      subscribeOptions: { extensions?: Record<string, unknown> } = {},
    ) => {
      const results: SubscriptionResult<T>[] = [];
      let ended = false;
      let settle!: () => void;
      const subscription: TestSubscription<T> = {
        results,
        error: undefined,
        ended: new Promise<void>((resolve) => (settle = resolve)),
        isEnded: () => ended,
        waitFor: async (count, timeoutMs = process.env.KAFKA_BROKERS ? 45_000 : 20_000) => {
          const deadline = Date.now() + timeoutMs;
          while (results.length < count) {
            if (ended || Date.now() > deadline) {
              const why = ended ? 'it ended' : `waited ${timeoutMs} ms`;
              throw new Error(
                `Expected ${count} subscription results; ${why} with ${results.length}: ${JSON.stringify(subscription.error ?? results)}`,
              );
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return results;
        },
        unsubscribe: () => unsubscribe(),
      };
      const end = () => {
        ended = true;
        settle();
      };
      const extensions = subscribeOptions.extensions ?? {
        storefront: signSubscription(secret, { query, variables }, identity),
      };
      const unsubscribe = client.subscribe<T>(
        { query, variables, extensions },
        {
          next: (result) => void results.push(result as SubscriptionResult<T>),
          error: (error) => {
            subscription.error = error;
            end();
          },
          complete: end,
        },
      );
      return subscription;
    },
    close: () => client.dispose() as Promise<void>,
  };
}
