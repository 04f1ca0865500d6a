import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'graphql';
import { TOPICS } from '@storefront/platform/events';
import { startService, type ServiceDefinition, type StartDependencies } from '@storefront/platform/service';
import type { ProductsConfig } from './config.ts';
import type { Context } from './context.ts';
import { createProductsClient, type ProductsDb, type ProductsTx } from './data/client.ts';
import { createLoaders } from './data/loaders.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { seedCatalog } from './seed.ts';
import { orderEventsHandler } from './stock/consumer.ts';

export { productsConfigSchema, loadProductsConfig, type ProductsConfig } from './config.ts';
export { permissions as productsPermissions } from './permissions.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const productsTypeDefs = parse(readFileSync(join(root, 'subgraphs/products/schema.graphql'), 'utf8'));

/** The products service: the catalog, its search, and the stock that orders reserve. */
export function productsService(config: ProductsConfig): ServiceDefinition<ProductsDb, ProductsTx, Context> {
  return {
    name: 'products',
    config,
    port: config.PRODUCTS_PORT,
    typeDefs: productsTypeDefs,
    migrationsDir: join(root, 'prisma/products/migrations'),
    createClient: createProductsClient,
    build: (runtime) => ({
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, runtime, loaders: createLoaders(runtime.db), config }),
      consumers: [{ topics: [TOPICS.orderEvents], handler: orderEventsHandler(runtime) }],
      seed: async () => void (await seedCatalog(runtime)),
    }),
  };
}

export async function startProducts(config: ProductsConfig, dependencies?: StartDependencies) {
  return startService(productsService(config), dependencies);
}
