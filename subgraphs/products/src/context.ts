import type { BaseContext, ServiceRuntime } from '@storefront/platform/service';
import type { ProductsConfig } from './config.ts';
import type { ProductsDb, ProductsTx } from './data/client.ts';
import type { Loaders } from './data/loaders.ts';

/** What the products service's resolvers receive. */
export interface Context extends BaseContext {
  runtime: ServiceRuntime<ProductsDb, ProductsTx>;
  loaders: Loaders;
  config: ProductsConfig;
}
