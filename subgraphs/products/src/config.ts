import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import type { z } from 'zod';

export const productsConfigSchema = serviceConfigSchema.extend({
  PRODUCTS_PORT: env.port(4002).describe('Port of the products service.'),
});

export type ProductsConfig = z.infer<typeof productsConfigSchema>;

export const loadProductsConfig = (source: Record<string, string | undefined> = process.env): ProductsConfig =>
  loadConfig(productsConfigSchema, source);
