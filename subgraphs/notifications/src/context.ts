import type { LiveFeed } from '@storefront/platform/events';
import type { BaseContext, ServiceRuntime } from '@storefront/platform/service';
import type { NotificationsDb, NotificationsTx } from './data/client.ts';
import type { Loaders } from './data/loaders.ts';

/** What the notifications service's resolvers receive. */
export interface Context extends BaseContext {
  runtime: ServiceRuntime<NotificationsDb, NotificationsTx>;
  loaders: Loaders;
  /** This instance's feed of notification events, for subscriptions. */
  live: LiveFeed;
}
