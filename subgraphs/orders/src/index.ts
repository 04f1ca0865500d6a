import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'graphql';
import { TOPICS } from '@storefront/platform/events';
import { startService, type ServiceDefinition, type StartDependencies } from '@storefront/platform/service';
import type { OrdersConfig } from './config.ts';
import type { Context } from './context.ts';
import { createOrdersClient, type OrdersDb, type OrdersTx } from './data/client.ts';
import { createLoaders } from './data/loaders.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { indexOrderEvents, ORDERS_LIVE_TOPICS } from './live.ts';
import { inventoryEventsHandler } from './saga.ts';

export { ordersConfigSchema, loadOrdersConfig, type OrdersConfig } from './config.ts';
export { permissions as ordersPermissions } from './permissions.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const ordersTypeDefs = parse(readFileSync(join(root, 'subgraphs/orders/schema.graphql'), 'utf8'));

/** The orders service: orders, their status history and the orders side of the order saga. */
export function ordersService(config: OrdersConfig): ServiceDefinition<OrdersDb, OrdersTx, Context> {
  return {
    name: 'orders',
    config,
    port: config.ORDERS_PORT,
    typeDefs: ordersTypeDefs,
    migrationsDir: join(root, 'prisma/orders/migrations'),
    createClient: createOrdersClient,
    build: (runtime) => {
      const live = runtime.liveFeed(ORDERS_LIVE_TOPICS, { indexBy: indexOrderEvents });
      return {
        resolvers,
        permissions,
        createContext: (base) => ({ ...base, runtime, live, loaders: createLoaders(runtime.db) }),
        consumers: [{ topics: [TOPICS.inventoryEvents], handler: inventoryEventsHandler(runtime) }],
      };
    },
  };
}

export async function startOrders(config: OrdersConfig, dependencies?: StartDependencies) {
  return startService(ordersService(config), dependencies);
}
