import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'graphql';
import { startService, type ServiceDefinition, type StartDependencies } from '@storefront/platform/service';
import type { NotificationsConfig } from './config.ts';
import type { Context } from './context.ts';
import { createNotificationsClient, type NotificationsDb, type NotificationsTx } from './data/client.ts';
import { createLoaders } from './data/loaders.ts';
import { notificationConsumers } from './events/consumers.ts';
import { notificationsLiveFeed } from './live.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

export { notificationsConfigSchema, loadNotificationsConfig, type NotificationsConfig } from './config.ts';
export { permissions as notificationsPermissions } from './permissions.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const notificationsTypeDefs = parse(readFileSync(join(root, 'subgraphs/notifications/schema.graphql'), 'utf8'));

/**
 * The notifications service: turns order events into messages for their
 * customers and keeps its own list of recipients from user events.
 */
export function notificationsService(
  config: NotificationsConfig,
): ServiceDefinition<NotificationsDb, NotificationsTx, Context> {
  return {
    name: 'notifications',
    config,
    port: config.NOTIFICATIONS_PORT,
    typeDefs: notificationsTypeDefs,
    migrationsDir: join(root, 'prisma/notifications/migrations'),
    createClient: createNotificationsClient,
    build: (runtime) => {
      const live = notificationsLiveFeed(runtime);
      return {
        resolvers,
        permissions,
        createContext: (base) => ({ ...base, runtime, live, loaders: createLoaders(runtime.db) }),
        consumers: notificationConsumers(runtime, config),
      };
    },
  };
}

export async function startNotifications(config: NotificationsConfig, dependencies?: StartDependencies) {
  return startService(notificationsService(config), dependencies);
}
