import { createEvent, type EventEnvelope } from '@storefront/platform/events';
import type { Order, OrderItem, OrderStatus } from '../data/client.ts';
import type { Money } from '../data/views.ts';

/**
 * Events of `order-events`, keyed by order id so one order's events stay in
 * order. Products reserves stock on OrderPlaced and releases it on
 * OrderCancelled; notifications and the gateway follow the status events.
 */
export interface OrderPlacedData {
  orderId: string;
  userId: string;
  items: { productId: string; quantity: number }[];
}

export interface OrderStatusChangedData {
  orderId: string;
  userId: string;
  status: OrderStatus;
  /** The status change's number within the order: PENDING is 1. */
  sequence: number;
  at: string;
  reason?: string;
  /** Only on OrderConfirmed: what the customer will pay. */
  total?: Money;
}

/** The event type for each status an order can move to after PENDING. */
export const STATUS_EVENT_TYPES = {
  CONFIRMED: 'OrderConfirmed',
  REJECTED: 'OrderRejected',
  PAID: 'OrderPaid',
  SHIPPED: 'OrderShipped',
  DELIVERED: 'OrderDelivered',
  CANCELLED: 'OrderCancelled',
} as const satisfies Partial<Record<OrderStatus, string>>;

export type StatusAfterPlacing = keyof typeof STATUS_EVENT_TYPES;

export const orderPlaced = (
  order: Order,
  items: Pick<OrderItem, 'productId' | 'quantity'>[],
): EventEnvelope<OrderPlacedData> =>
  createEvent('orders', 'OrderPlaced', order.id, {
    orderId: order.id,
    userId: order.userId,
    items: items.map(({ productId, quantity }) => ({ productId, quantity })),
  });

/** The event that caused a change (a saga step), so one trace follows the whole saga. */
export type Cause = Pick<EventEnvelope, 'traceparent'>;

export function orderStatusChanged(
  order: Pick<Order, 'id' | 'userId'>,
  change: { status: StatusAfterPlacing; sequence: number; at: Date; reason?: string | null; total?: Money },
  cause?: Cause,
): EventEnvelope<OrderStatusChangedData> {
  return createEvent(
    'orders',
    STATUS_EVENT_TYPES[change.status],
    order.id,
    {
      orderId: order.id,
      userId: order.userId,
      status: change.status,
      sequence: change.sequence,
      at: change.at.toISOString(),
      ...(change.reason ? { reason: change.reason } : {}),
      ...(change.total ? { total: change.total } : {}),
    },
    cause?.traceparent ? { traceparent: cause.traceparent } : {},
  );
}
