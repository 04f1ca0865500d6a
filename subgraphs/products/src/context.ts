import type { BaseContext } from '@storefront/platform/server/subgraph';
import type { ServiceRuntime } from '@storefront/platform/server/service';
import type { ProductsConfig } from './config.ts';
import type { ProductsDb, ProductsTx } from './data/client.ts';
import type { Loaders } from './data/loaders.ts';

/** What the products service's resolvers receive. */
export interface Context extends BaseContext {
  runtime: ServiceRuntime<ProductsDb, ProductsTx>;
  loaders: Loaders;
  config: ProductsConfig;
}
