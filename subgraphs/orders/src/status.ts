import { TOPICS } from '@storefront/platform/events';
import type { Emit } from '@storefront/platform/service';
import type { Order, OrdersTx } from './data/client.ts';
import type { Prisma } from './data/generated/client.ts';
import type { Money } from './data/views.ts';
import { orderStatusChanged, type Cause, type StatusAfterPlacing } from './events/order-events.ts';

export interface StatusChange {
  to: StatusAfterPlacing;
  reason?: string | null;
  total?: Money;
  /** Other columns that change with the status (prices, rejection reason). */
  data?: Omit<Prisma.OrderUpdateManyMutationInput, 'status' | 'version'>;
  /** The inventory event this change answers, when there is one. */
  cause?: Cause;
}

/**
 * Moves `order` (as read in this transaction) to a new status: the row, the
 * next history entry and the event, together.
 *
 * The update only matches while the order still has the status and version
 * it was read with, so of two concurrent changes exactly one wins (the
 * loser's update waits for the winner's row lock, then matches nothing).
 * Returns null for the loser; nothing has been written then.
 */
export async function changeStatus(
  tx: OrdersTx,
  emit: Emit,
  order: Order,
  change: StatusChange,
): Promise<Order | null> {
  const sequence = order.version + 1;
  // UPDATE … RETURNING: the changed row comes back with the update, not from a second read.
  const [moved] = await tx.order.updateManyAndReturn({
    where: { id: order.id, status: order.status, version: order.version },
    data: { ...change.data, status: change.to, version: sequence },
  });
  if (!moved) return null;
  const at = new Date();
  await tx.orderStatusChange.create({
    data: { orderId: order.id, sequence, status: change.to, at, reason: change.reason ?? null },
  });
  await emit(
    TOPICS.orderEvents,
    orderStatusChanged(
      order,
      {
        status: change.to,
        sequence,
        at,
        reason: change.reason ?? null,
        ...(change.total ? { total: change.total } : {}),
      },
      change.cause,
    ),
  );
  return moved;
}
