import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { signSubgraphRequest } from './auth/gateway-signature.ts';
import type { Identity } from './auth/identity.ts';
import type { EventBus } from './events/bus.ts';
import type { EventEnvelope } from './events/envelope.ts';

/**
 * Helpers for the project's tests. Tests run against the real backends when
 * the test command provides them (TEST_DATABASE_URL, KAFKA_BROKERS,
 * REDIS_URL); each test file gets its own fresh database and its own Kafka
 * topic prefix, so files run in parallel without seeing each other's data.
 */
export const TEST_SECRET = 'test-subgraph-secret-0123456789';

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
): Promise<GraphQLResult<T>> {
  const body = JSON.stringify({ query, variables });
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
  const databaseUrl = await createTestDatabase();
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (process.env.KAFKA_BROKERS) {
    env.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    env.KAFKA_TOPIC_PREFIX = `t${randomBytes(4).toString('hex')}.`;
  }
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
  return env;
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
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
