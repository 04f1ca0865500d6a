import type { EventHandler } from '@storefront/platform/events';
import type { Emit, ServiceRuntime } from '@storefront/platform/service';
import { normaliseId } from '@storefront/platform/resolvers';
import type { OrderItem, OrdersDb, OrdersTx } from './data/client.ts';
import type { Money } from './data/views.ts';
import {
  productAnnouncedData,
  readEvent,
  stockRejectedData,
  stockReservedData,
  type StockRejected,
  type StockReserved,
} from './events/inventory-events.ts';
import type { Cause } from './events/order-events.ts';
import { changeStatus } from './status.ts';

type Runtime = ServiceRuntime<OrdersDb, OrdersTx>;

/** The largest amount an Int column (and GraphQL Int) holds. */
const MAX_AMOUNT = 2 ** 31 - 1;

/**
 * The orders side of the order saga, fed by `inventory-events`. Each event is
 * applied at most once (processOnce), in the same transaction as its effect.
 * Other inventory events (StockReleased) need nothing from orders.
 */
export function inventoryEventsHandler(runtime: Runtime): EventHandler {
  return async ({ event }) => {
    switch (event.type) {
      case 'StockReserved': {
        const data = readEvent(event, stockReservedData);
        await runtime.processOnce(event, (tx, emit) => confirmOrder(runtime, tx, emit, data, event));
        return;
      }
      case 'StockRejected': {
        const data = readEvent(event, stockRejectedData);
        await runtime.processOnce(event, (tx, emit) =>
          rejectOrder(runtime, tx, emit, data.orderId, stockRejectedReason(data), event),
        );
        return;
      }
      case 'ProductCreated':
      case 'ProductUpdated': {
        const { productId } = readEvent(event, productAnnouncedData);
        const id = normaliseId(productId);
        await runtime.processOnce(event, async (tx) => {
          await tx.knownProduct.upsert({ where: { id }, create: { id }, update: { updatedAt: new Date() } });
        });
        return;
      }
      default:
        return;
    }
  };
}

/**
 * Prices a PENDING order from the reserved lines and confirms it. An order
 * that is no longer PENDING was cancelled meanwhile: nothing to do, products
 * releases the stock when it reads OrderCancelled (ordered after OrderPlaced
 * on the same key).
 */
async function confirmOrder(
  runtime: Runtime,
  tx: OrdersTx,
  emit: Emit,
  data: StockReserved,
  cause: Cause,
): Promise<void> {
  const order = await tx.order.findUnique({ where: { id: normaliseId(data.orderId) }, include: { items: true } });
  if (!order) return void runtime.logger.warn({ orderId: data.orderId }, 'StockReserved for an unknown order; ignored');
  if (order.status !== 'PENDING') return;
  const pricing = price(order.items, data);
  if ('problem' in pricing) {
    runtime.logger.error({ orderId: order.id, problem: pricing.problem }, 'cannot price a reserved order');
    return rejectOrder(runtime, tx, emit, order.id, pricing.problem, cause);
  }
  const { total, unitPrices } = pricing;
  const confirmed = await changeStatus(tx, emit, order, {
    to: 'CONFIRMED',
    total,
    data: { totalAmount: total.amount, currency: total.currency },
    cause,
  });
  if (!confirmed) return;
  // Every line's price in one statement, however many lines the order has.
  await tx.$executeRawUnsafe(
    `UPDATE order_items SET unit_price = priced.unit_price
       FROM unnest($1::uuid[], $2::int[]) AS priced(id, unit_price)
      WHERE order_items.id = priced.id`,
    order.items.map((item) => item.id),
    order.items.map((item) => unitPrices.get(item.productId)!),
  );
}

async function rejectOrder(
  runtime: Runtime,
  tx: OrdersTx,
  emit: Emit,
  orderId: string,
  reason: string,
  cause: Cause,
): Promise<void> {
  const order = await tx.order.findUnique({ where: { id: normaliseId(orderId) } });
  if (!order) return void runtime.logger.warn({ orderId }, 'stock rejection for an unknown order; ignored');
  if (order.status !== 'PENDING') return;
  await changeStatus(tx, emit, order, { to: 'REJECTED', reason, data: { rejectionReason: reason }, cause });
}

function stockRejectedReason(data: StockRejected): string {
  const short = (data.unavailable ?? []).map((u) => `${u.productId}: ${u.available} of ${u.requested} available`);
  return short.length ? `${data.reason} (${short.join('; ')})` : data.reason;
}

type Pricing = { total: Money; unitPrices: Map<string, number> } | { problem: string };

/** Unit prices per product and the order total; every line must be priced, in one currency. */
function price(items: OrderItem[], data: StockReserved): Pricing {
  const lines = new Map(data.lines.map((line) => [normaliseId(line.productId), line]));
  const unitPrices = new Map<string, number>();
  const currencies = new Set<string>();
  let amount = 0;
  for (const item of items) {
    const line = lines.get(item.productId);
    if (!line) return { problem: `The reservation has no price for product ${item.productId}` };
    unitPrices.set(item.productId, line.unitPrice.amount);
    currencies.add(line.unitPrice.currency);
    amount += line.unitPrice.amount * item.quantity;
  }
  if (currencies.size !== 1)
    return { problem: `Prices are in more than one currency (${[...currencies].sort().join(', ')})` };
  if (amount > MAX_AMOUNT) return { problem: 'The order total is larger than can be charged at once' };
  return { total: { amount, currency: [...currencies][0]! }, unitPrices };
}
