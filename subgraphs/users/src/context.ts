import type { BaseContext, ServiceRuntime } from '@storefront/platform/service';
import type { TokenSettings } from './auth/sessions.ts';
import type { UsersConfig } from './config.ts';
import type { UsersDb, UsersTx } from './data/client.ts';
import type { Loaders } from './data/loaders.ts';

/** What the users service's resolvers receive. */
export interface Context extends BaseContext {
  runtime: ServiceRuntime<UsersDb, UsersTx>;
  loaders: Loaders;
  tokens: TokenSettings;
  config: UsersConfig;
}
