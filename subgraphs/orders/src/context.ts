import type { LiveFeed } from '@storefront/platform/events';
import type { BaseContext, ServiceRuntime } from '@storefront/platform/service';
import type { OrdersDb, OrdersTx } from './data/client.ts';
import type { Loaders } from './data/loaders.ts';

/** What the orders service's resolvers receive. */
export interface Context extends BaseContext {
  runtime: ServiceRuntime<OrdersDb, OrdersTx>;
  loaders: Loaders;
  /** This instance's feed of order events, for subscriptions. */
  live: LiveFeed;
}
