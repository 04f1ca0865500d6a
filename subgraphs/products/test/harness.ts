import { randomUUID } from 'node:crypto';
import type { Identity } from '@storefront/platform/auth';
import { type DeliveredEvent, createEvent, TOPICS, type EventEnvelope } from '@storefront/platform/events';
import { startService, type RunningService, type ServiceRuntime } from '@storefront/platform/service';
import { recordEvents, serviceTestEnv, subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import type { Context } from '../src/context.ts';
import type { ProductsDb, ProductsTx } from '../src/data/client.ts';
import { loadProductsConfig, productsService } from '../src/index.ts';
import { orderEventsHandler } from '../src/stock/consumer.ts';

/**
 * The products service as the tests drive it: started through its own
 * factory on the test backends, with its runtime at hand (to call the stock
 * handler directly) and every event it publishes on inventory-events recorded.
 */
export const STAFF: Identity = { userId: 'f0000000-0000-4000-8000-00000000000a', role: 'STAFF' };
export const ADMIN: Identity = { userId: 'f0000000-0000-4000-8000-00000000000b', role: 'ADMIN' };
export const CUSTOMER: Identity = { userId: 'f0000000-0000-4000-8000-00000000000c', role: 'CUSTOMER' };

/** Real brokers take a while to join a consumer group. */
export const EVENT_TIMEOUT_MS = process.env.KAFKA_BROKERS ? 60_000 : 10_000;

export interface ProductsHarness {
  service: RunningService<ProductsDb>;
  runtime: ServiceRuntime<ProductsDb, ProductsTx>;
  /** inventory-events as published, in arrival order. */
  published: EventEnvelope[];
  call: SubgraphCaller;
  /** Delivers an order event to the stock consumer as the bus would, and waits for it. */
  deliver: (event: EventEnvelope) => Promise<void>;
  createCategory: (name?: string) => Promise<{ id: string; name: string }>;
  createProduct: (input: Partial<ProductInput> & { categoryId: string }) => Promise<{ id: string; sku: string }>;
  stockOf: (productId: string) => Promise<number>;
  stop: () => Promise<void>;
}

export interface ProductInput {
  sku: string;
  name: string;
  description: string;
  price: { amount: number; currency: string };
  categoryId: string;
  stockLevel: number;
}

export async function startProductsHarness(): Promise<ProductsHarness> {
  const config = loadProductsConfig(await serviceTestEnv());
  const definition = productsService(config);
  let runtime: ServiceRuntime<ProductsDb, ProductsTx> | undefined;
  const service = await startService<ProductsDb, ProductsTx, Context>({
    ...definition,
    build: (rt) => {
      runtime = rt;
      return definition.build(rt);
    },
  });
  await service.consumersRunning;
  const { events: published } = await recordEvents(service.bus, [TOPICS.inventoryEvents]);
  const call = subgraphCaller(service);
  const handler = orderEventsHandler(runtime!);
  let offset = 0;
  return {
    service,
    runtime: runtime!,
    published,
    call,
    deliver: (event) =>
      handler({ topic: TOPICS.orderEvents, partition: 0, offset: String(offset++), event } satisfies DeliveredEvent),
    createCategory: async (name = `Category ${randomUUID().slice(0, 8)}`) => {
      const res = await call(`mutation($name: String!) { createCategory(name: $name) { id name } }`, { name }, STAFF);
      if (!res.data?.createCategory) throw new Error(`createCategory failed: ${JSON.stringify(res.errors)}`);
      return res.data.createCategory;
    },
    createProduct: async (input) => {
      const res = await call(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku } }`,
        {
          input: {
            sku: `SKU-${randomUUID().slice(0, 8)}`,
            name: 'Test product',
            description: '',
            price: { amount: 1000, currency: 'USD' },
            stockLevel: 10,
            ...input,
          },
        },
        STAFF,
      );
      if (!res.data?.createProduct) throw new Error(`createProduct failed: ${JSON.stringify(res.errors)}`);
      return res.data.createProduct;
    },
    stockOf: async (productId) => {
      const product = await runtime!.db.product.findUniqueOrThrow({ where: { id: productId } });
      return product.stockLevel;
    },
    stop: () => service.stop(),
  };
}

export const orderPlaced = (items: { productId: string; quantity: number }[], orderId: string = randomUUID()) =>
  createEvent('orders', 'OrderPlaced', orderId, { orderId, userId: CUSTOMER.userId, items });

export const orderCancelled = (orderId: string) =>
  createEvent('orders', 'OrderCancelled', orderId, {
    orderId,
    userId: CUSTOMER.userId,
    status: 'CANCELLED',
    sequence: 3,
    at: new Date().toISOString(),
    reason: 'changed my mind',
  });

/** The events about one aggregate (an order or a product) published so far. */
export const eventsFor = (published: EventEnvelope[], aggregateId: string, type?: string) =>
  published.filter((e) => e.aggregateId === aggregateId && (!type || e.type === type));
