import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import type { z } from 'zod';

export const ordersConfigSchema = serviceConfigSchema.extend({
  ORDERS_PORT: env.port(4003).describe('Port of the orders service.'),
});

export type OrdersConfig = z.infer<typeof ordersConfigSchema>;

export const loadOrdersConfig = (source: Record<string, string | undefined> = process.env): OrdersConfig =>
  loadConfig(ordersConfigSchema, source);
