import { randomUUID } from 'node:crypto';
import { eventually, recordEvents, serviceTestEnv, type EventRecorder } from '@storefront/platform/testing';
import { createEvent, TOPICS, type EventEnvelope } from '@storefront/platform/events';
import type { Identity } from '@storefront/platform/auth';
import type { RunningService } from '@storefront/platform/service';
import { loadOrdersConfig, startOrders } from '../src/index.ts';
import type { OrdersDb } from '../src/data/client.ts';

/**
 * Orders tested alone: the tests play the products service by publishing
 * inventory events on the service's bus themselves.
 */
export type Orders = RunningService<OrdersDb>;

export async function startTestOrders(): Promise<Orders> {
  const orders = await startOrders(loadOrdersConfig(await serviceTestEnv()));
  // The tests publish inventory events at once: the consumer (joined after the port opens) must be in its group.
  await orders.consumersRunning;
  return orders;
}

export const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER' });
export const staff = (): Identity => ({ userId: randomUUID(), role: 'STAFF' });
export const admin = (): Identity => ({ userId: randomUUID(), role: 'ADMIN' });

export const ORDER_FIELDS = `id status user { id } total { amount currency }
  items { product { id } quantity unitPrice { amount currency } lineTotal { amount currency } }
  statusHistory { status sequence at reason } shippingAddress { line1 line2 city postalCode country } createdAt updatedAt`;

export const PLACE_ORDER = `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { ${ORDER_FIELDS} } }`;
export const ORDER = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
export const transition = (name: 'payOrder' | 'shipOrder' | 'deliverOrder' | 'cancelOrder') =>
  `mutation($id: ID!) { ${name}(id: $id) { id status statusHistory { status sequence } } }`;

export async function publishInventory(orders: Orders, ...events: EventEnvelope[]): Promise<void> {
  await orders.bus.publish(TOPICS.inventoryEvents, events);
}

export function productCreated(productId: string, price = { amount: 1000, currency: 'EUR' }): EventEnvelope {
  return createEvent('products', 'ProductCreated', productId, {
    productId,
    sku: `SKU-${productId.slice(0, 8)}`,
    name: 'A product',
    price,
    stockLevel: 10,
  });
}

export function stockReserved(
  orderId: string,
  lines: { productId: string; quantity: number; amount: number; currency?: string }[],
): EventEnvelope {
  return createEvent('products', 'StockReserved', orderId, {
    orderId,
    lines: lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: { amount: l.amount, currency: l.currency ?? 'EUR' },
    })),
  });
}

export function stockRejected(orderId: string, productId: string): EventEnvelope {
  return createEvent('products', 'StockRejected', orderId, {
    orderId,
    reason: 'Insufficient stock',
    unavailable: [{ productId, requested: 5, available: 2 }],
  });
}

/** Announces products as the catalog would, and waits until orders has recorded them. */
export async function knownProducts(orders: Orders, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await publishInventory(orders, ...ids.map((id) => productCreated(id)));
  await eventually(
    async () => (await orders.db.knownProduct.count({ where: { id: { in: ids } } })) === count,
    15_000,
    'products known',
  );
  return ids;
}

export async function waitForStatus(orders: Orders, orderId: string, status: string): Promise<void> {
  await eventually(
    async () => (await orders.db.order.findUnique({ where: { id: orderId } }))?.status === status,
    15_000,
    `order ${status}`,
  );
}

/** Everything orders publishes on order-events from now on (and before: consumers start at the beginning). */
export const observeOrderEvents = (orders: Orders): Promise<EventRecorder> =>
  recordEvents(orders.bus, [TOPICS.orderEvents]);
