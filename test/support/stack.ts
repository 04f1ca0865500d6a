import { randomUUID } from 'node:crypto';
import { MemoryEventBus } from '@storefront/platform/events';
import { createLogger, type Logger } from '@storefront/platform/logger';
import type { RunningService, StartDependencies } from '@storefront/platform/service';
import { serviceTestEnv, type GraphQLResult } from '@storefront/platform/testing';
import { loadGatewayConfig, startGateway, type RunningGateway, type SubgraphFetchEvent } from '@storefront/gateway';
import { loadUsersConfig, startUsers } from '@storefront/users';
import { loadProductsConfig, startProducts } from '@storefront/products';
import { loadOrdersConfig, startOrders } from '@storefront/orders';
import { loadNotificationsConfig, startNotifications } from '@storefront/notifications';

/**
 * The whole supergraph for end-to-end tests: four subgraphs and the gateway,
 * on the real PostgreSQL and Kafka when the test command provides them (each
 * service with its own bus client, as in production), or embedded.
 */
type SubgraphName = 'users' | 'products' | 'orders' | 'notifications';

export interface Stack {
  gateway: RunningGateway;
  services: Record<SubgraphName, RunningService>;
  env: Record<string, string>;
  /** POSTs an operation to the gateway, with an access token when given. */
  query<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResult<T>>;
  /**
   * Another gateway in front of this stack's subgraphs, with its own settings
   * (`env` over the stack's) and, where given, other URLs for some subgraphs
   * (a proxy, a list of instances); stopped with the stack.
   */
  startGateway(
    env?: Record<string, string>,
    options?: {
      subgraphUrls?: Partial<Record<SubgraphName, string>>;
      logger?: Logger;
      onSubgraphFetch?: (event: SubgraphFetchEvent) => void;
    },
  ): Promise<RunningGateway>;
  signUp(name?: string): Promise<{ token: string; userId: string; email: string }>;
  logInAdmin(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * What another instance of `service` needs to run beside it, as production runs
 * several: the same data and the same events. On PostgreSQL and Kafka each
 * instance connects on its own; on the embedded default it must share the
 * in-process bus and the opened PGlite (a data directory has one opener:
 * a second one would read a stale copy and lose writes).
 */
export function besideDependencies(service: RunningService, logger: Logger): StartDependencies {
  return {
    logger,
    ...(service.bus.kind === 'memory' ? { bus: service.bus } : {}),
    ...(service.database.kind === 'pglite' ? { database: service.database } : {}),
  };
}

export async function startStack(
  options: {
    embedded?: boolean;
    gatewayEnv?: Record<string, string>;
    /** e.g. `captureLogs().logger`, to assert on logs. */ logger?: Logger;
    /** Settings of every service and the gateway, over the test defaults (e.g. OTEL_*). */
    env?: Record<string, string>;
  } = {},
): Promise<Stack> {
  const env = { ...(await serviceTestEnv({ embedded: options.embedded })), ...options.env };
  const logger = options.logger ?? createLogger({ name: 'test', level: env.LOG_LEVEL });
  const dependencies: StartDependencies = env.KAFKA_BROKERS ? { logger } : { logger, bus: new MemoryEventBus(logger) };
  const started: RunningService[] = [];
  try {
    const notifications = await startNotifications(loadNotificationsConfig(env), dependencies);
    started.push(notifications);
    const products = await startProducts(loadProductsConfig(env), dependencies);
    started.push(products);
    const orders = await startOrders(loadOrdersConfig(env), dependencies);
    started.push(orders);
    const users = await startUsers(loadUsersConfig(env), dependencies);
    started.push(users);
    await users.seed();
    // Consumers join their groups after each port opens; tests drive the saga at once.
    await Promise.all(started.map((service) => service.consumersRunning));
    const servicesUrls = Object.fromEntries(started.map((s) => [s.name, s.url]));
    const extraGateways: RunningGateway[] = [];
    const gatewayOn: Stack['startGateway'] = async (gatewayEnv = {}, gatewayOptions = {}) => {
      const started = await startGateway(
        {
          ...loadGatewayConfig({ ...env, GATEWAY_PORT: '0', ...gatewayEnv }),
          subgraphUrls: { ...servicesUrls, ...(gatewayOptions.subgraphUrls as Record<string, string> | undefined) },
        },
        {
          logger: gatewayOptions.logger ?? logger,
          bus: dependencies.bus,
          ...(gatewayOptions.onSubgraphFetch ? { onSubgraphFetch: gatewayOptions.onSubgraphFetch } : {}),
        },
      );
      extraGateways.push(started);
      return started;
    };
    const gateway = await startGateway(
      { ...loadGatewayConfig({ ...env, GATEWAY_PORT: '0', ...options.gatewayEnv }), subgraphUrls: servicesUrls },
      { logger, bus: dependencies.bus },
    );

    const query: Stack['query'] = async (text, variables = {}, token) => {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: text, variables }),
      });
      return { status: res.status, ...((await res.json()) as object) };
    };
    const users$ = loadUsersConfig(env);
    return {
      gateway,
      services: { users, products, orders, notifications },
      env,
      query,
      startGateway: gatewayOn,
      signUp: async (name = 'Test Customer') => {
        const email = `${randomUUID().slice(0, 8)}@example.com`;
        const res = await query<{ signUp: { accessToken: string; user: { id: string } } }>(
          `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
          { input: { email, password: 'a-good-password-1', name } },
        );
        if (!res.data?.signUp) throw new Error(`sign-up failed: ${JSON.stringify(res.errors)}`);
        return { token: res.data.signUp.accessToken, userId: res.data.signUp.user.id, email };
      },
      logInAdmin: async () => {
        const res = await query<{ logIn: { accessToken: string } }>(
          `mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { accessToken } }`,
          { e: users$.SEED_ADMIN_EMAIL, p: users$.SEED_ADMIN_PASSWORD },
        );
        if (!res.data?.logIn) throw new Error(`admin log-in failed: ${JSON.stringify(res.errors)}`);
        return res.data.logIn.accessToken;
      },
      stop: async () => {
        for (const extra of extraGateways) await extra.stop().catch(() => {});
        await gateway.stop();
        for (const service of started.reverse()) await service.stop();
        await dependencies.bus?.close();
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.stop().catch(() => {});
    throw error;
  }
}
