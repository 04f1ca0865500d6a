import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import WebSocket from 'ws';
import { eventually, type SubscriptionResult, type TestSubscription } from '@storefront/platform/testing';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@storefront/gateway';
import type { Stack } from './stack.ts';

/**
 * A client app's WebSocket to the gateway: a real graphql-ws client, opened
 * at once (not lazily) so tests can watch the socket itself (acknowledged,
 * closed with which code) and never reconnecting on its own — a test that
 * wants a reconnect makes a new socket.
 */
export interface GatewaySocket {
  client: Client;
  /** Settles when the gateway acknowledged `connection_init`. */
  acknowledged: Promise<void>;
  /** Settles with the socket's first close. */
  closed: Promise<{ code: number; reason: string }>;
  subscribe<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): TestSubscription<T>;
  /** A query or mutation over the socket: its one result. */
  execute<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<SubscriptionResult<T>>;
  /** Drops the TCP connection without a close handshake, like a phone losing its network. */
  drop(): void;
  close(): Promise<void>;
}

export function connectGateway(
  gateway: { url: string },
  options: { token?: string; connectionParams?: Record<string, unknown> } = {},
): GatewaySocket {
  let socket: WebSocket | undefined;
  let acknowledge!: () => void;
  let close!: (event: { code: number; reason: string }) => void;
  const acknowledged = new Promise<void>((resolve) => (acknowledge = resolve));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (close = resolve));
  const client = createClient({
    url: gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: options.connectionParams ?? (options.token ? { authorization: `Bearer ${options.token}` } : {}),
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: () => {},
    on: {
      connected: (s) => {
        socket = s as WebSocket;
        acknowledge();
      },
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        close({ code, reason: String(reason) });
      },
    },
  });

  const subscribe = <T>(query: string, variables: Record<string, unknown> = {}): TestSubscription<T> => {
    const results: SubscriptionResult<T>[] = [];
    let ended = false;
    let settle!: () => void;
    const subscription: TestSubscription<T> = {
      results,
      error: undefined,
      ended: new Promise<void>((resolve) => (settle = resolve)),
      isEnded: () => ended,
      waitFor: (count, timeoutMs = 30_000) =>
        eventually(
          () => {
            if (results.length >= count) return results;
            if (ended)
              throw new Error(
                `ended after ${results.length} results: ${JSON.stringify(subscription.error ?? results)}`,
              );
            return undefined;
          },
          timeoutMs,
          `${count} subscription results`,
        ),
      unsubscribe: () => unsubscribe(),
    };
    const end = () => {
      ended = true;
      settle();
    };
    const unsubscribe = client.subscribe<T>(
      { query, variables },
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
  };

  return {
    client,
    acknowledged,
    closed,
    subscribe,
    execute: async <T>(query: string, variables: Record<string, unknown> = {}) => {
      const operation = subscribe<T>(query, variables);
      await operation.ended;
      if (operation.error) return { errors: toErrors(operation.error) };
      return operation.results[0] ?? {};
    },
    drop: () => socket?.terminate(),
    close: async () => {
      await client.dispose();
    },
  };
}

/** An `error` message's payload is a list of errors; a close event is reported as one. */
function toErrors(error: unknown): SubscriptionResult['errors'] {
  if (Array.isArray(error)) return error;
  const { code, reason } = error as { code?: number; reason?: string };
  return [{ message: `socket closed (${code}: ${reason})` }];
}

/** Another gateway instance in front of the same subgraphs, event bus and Redis (stopped by the caller). */
export async function startExtraGateway(stack: Stack, env: Record<string, string> = {}): Promise<RunningGateway> {
  return startGateway(
    {
      ...loadGatewayConfig({ ...stack.env, GATEWAY_PORT: '0', ...env }),
      subgraphUrls: Object.fromEntries(Object.values(stack.services).map((s) => [s.name, s.url])),
    },
    { bus: stack.services.users.bus.kind === 'memory' ? stack.services.users.bus : undefined },
  );
}

/**
 * An access token signed with the users service's own key (kept in its
 * DATA_DIR when JWT_SIGNING_KEYS is unset), with the lifetime a test needs.
 */
export async function signAccessToken(
  stack: Stack,
  user: { userId: string; role?: string },
  lifetimeSeconds: number,
): Promise<string> {
  const [jwk] = JSON.parse(readFileSync(join(stack.env.DATA_DIR!, 'users', 'jwt-keys.json'), 'utf8')) as JWK[];
  const key = (await importJWK(jwk!, 'EdDSA')) as CryptoKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: user.role ?? 'CUSTOMER', sid: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: jwk!.kid! })
    .setSubject(user.userId)
    .setIssuer('storefront')
    .setAudience('storefront-api')
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(key);
}
