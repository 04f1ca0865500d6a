import type { EventEnvelope } from '@storefront/platform/events';
import type { Emit } from '@storefront/platform/service';
import type { NotificationsTx, OrderSummary } from './data/client.ts';
import type { OrderPlaced, OrderStatusChanged } from './events/incoming.ts';
import { notifyUser } from './notify.ts';
import { renderOrderUpdate } from './templates.ts';

/**
 * Turns an order's status changes into notifications for its customer, in-app
 * and by email (see notify.ts). Runs inside the consumer's processOnce transaction.
 */

/** Remembers how many units were ordered, so later messages can say "2 items". */
export async function rememberPlacedOrder(tx: NotificationsTx, order: OrderPlaced): Promise<void> {
  const itemCount = order.items.reduce((sum, item) => sum + item.quantity, 0);
  await tx.orderSummary.upsert({
    where: { orderId: order.orderId },
    create: { orderId: order.orderId, userId: order.userId, itemCount },
    update: { itemCount },
  });
}

export async function notifyOrderUpdate(
  tx: NotificationsTx,
  emit: Emit,
  event: EventEnvelope,
  change: OrderStatusChanged,
): Promise<void> {
  const summary = await summaryWithTotal(tx, change);
  const message = renderOrderUpdate({
    orderId: change.orderId,
    status: change.status,
    itemCount: summary?.itemCount ?? null,
    total:
      summary?.totalAmount != null && summary.currency
        ? { amount: summary.totalAmount, currency: summary.currency }
        : null,
    reason: change.reason ?? null,
  });
  await notifyUser(tx, emit, { userId: change.userId, cause: event, message });
}

/** The order as remembered, updated with the total when this change carries one (OrderConfirmed). */
async function summaryWithTotal(tx: NotificationsTx, change: OrderStatusChanged): Promise<OrderSummary | null> {
  if (!change.total) return tx.orderSummary.findUnique({ where: { orderId: change.orderId } });
  const total = { totalAmount: change.total.amount, currency: change.total.currency };
  return tx.orderSummary.upsert({
    where: { orderId: change.orderId },
    create: { orderId: change.orderId, userId: change.userId, ...total },
    update: total,
  });
}
