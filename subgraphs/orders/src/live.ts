import { isStaff, type Identity } from '@storefront/platform/auth';
import { type DeliveredEvent, TOPICS, type EventEnvelope } from '@storefront/platform/events';
import { BadUserInputError, ForbiddenError, NotFoundError } from '@storefront/platform/errors';
import { isUuid, normaliseId } from '@storefront/platform/resolvers';
import { mapStream, resumeAt, SKIP, traceAt, type Stream } from '@storefront/platform/streams';
import type { Context } from './context.ts';
import type { Order, OrderStatus } from './data/client.ts';
import { STATUS_EVENT_TYPES } from './events/order-events.ts';

/**
 * The orders subscriptions, pushed from the instance's live feed of
 * order-events. Each pushed Order is the row as it is now, with `status` and
 * `version` as of the event, so a client sees every step even when the
 * order has already moved on.
 */

/** The live feed's configuration: order events are also found by their customer, for myOrderUpdates. */
export const ORDERS_LIVE_TOPICS = [TOPICS.orderEvents];
export const indexOrderEvents = ({ event }: DeliveredEvent): string[] => {
  const userId = (event.data as { userId?: unknown } | null)?.userId;
  return typeof userId === 'string' ? [userKey(userId)] : [];
};
const userKey = (userId: string) => `user:${normaliseId(userId)}`;

/** Statuses after which an order never changes again: its subscription ends there. */
const FINAL = new Set<OrderStatus>(['DELIVERED', 'CANCELLED', 'REJECTED']);

const STATUS_OF_EVENT = new Map<string, OrderStatus>(
  Object.entries(STATUS_EVENT_TYPES).map(([status, type]) => [type, status as OrderStatus]),
);

interface Change {
  status: OrderStatus;
  sequence: number;
  /** The event's trace context, so the push is part of the order's trace. */
  traceparent?: string | undefined;
}

/** The status change an order event announces; OrderPlaced is the first (PENDING, 1). */
function changeOf(event: EventEnvelope): Change | undefined {
  if (event.type === 'OrderPlaced') return { status: 'PENDING', sequence: 1 };
  const status = STATUS_OF_EVENT.get(event.type);
  const sequence = (event.data as { sequence?: unknown } | null)?.sequence;
  return status && Number.isInteger(sequence) ? { status, sequence: sequence as number } : undefined;
}

const asOf = (order: Order, change: Change): Order => ({ ...order, status: change.status, version: change.sequence });

/**
 * Resume without loss: the live subscription starts before the history is
 * read, so a change committed meanwhile is in one or the other (or both:
 * sequences already sent are skipped). Changes of one order reach the feed
 * in sequence order (one key, one partition, outbox order).
 */
export async function orderStatusChanged(
  ctx: Context,
  identity: Identity,
  args: { orderId: string; after?: number | null },
): Promise<Stream<{ orderStatusChanged: Order }>> {
  if (!isUuid(args.orderId)) throw new BadUserInputError('"orderId" is not a valid id', 'orderId');
  const after = args.after ?? null;
  if (after !== null && after < 0)
    throw new BadUserInputError('"after" must be a version received earlier (0 or more)', 'after');
  const orderId = normaliseId(args.orderId);
  const { db } = ctx.runtime;

  const live = ctx.live.subscribe({
    topic: TOPICS.orderEvents,
    key: orderId,
    filter: ({ event }) => STATUS_OF_EVENT.has(event.type),
  });
  let history: Change[];
  let sent: number;
  try {
    const order = await db.order.findUnique({ where: { id: orderId } });
    if (!order) throw new NotFoundError('Order', args.orderId);
    if (order.userId !== normaliseId(identity.userId) && !isStaff(identity))
      throw new ForbiddenError('This is not your order');
    // Without `after`, the client wants what happens from now on: changes up to the current version are known to it.
    sent = after ?? order.version;
    history =
      sent < order.version
        ? await db.orderStatusChange.findMany({
            where: { orderId, sequence: { gt: sent } },
            orderBy: { sequence: 'asc' },
            select: { status: true, sequence: true },
          })
        : [];
    if (FINAL.has(order.status) && sent >= order.version) {
      // Nothing will ever follow: complete at once instead of waiting forever.
      await live.return();
    }
  } catch (error) {
    await live.return();
    throw error;
  }

  const changes = mapStream(live, ({ event, traceparent }) => {
    const change = changeOf(event);
    return change ? { ...change, traceparent: traceparent ?? event.traceparent } : SKIP;
  });
  return mapStream(
    changes,
    async (change) => {
      if (change.sequence <= sent) return SKIP;
      sent = change.sequence;
      const order = await db.order.findUnique({ where: { id: orderId } });
      // `after: <this version>` replays exactly what follows it: the gateway resumes with it when a connection drops.
      return order
        ? traceAt(resumeAt({ orderStatusChanged: asOf(order, change) }, { after: change.sequence }), change.traceparent)
        : SKIP;
    },
    { prefix: history, isLast: ({ orderStatusChanged }) => FINAL.has(orderStatusChanged.status) },
  );
}

/** Every order event of the caller from now on: OrderPlaced and each status change. */
export function myOrderUpdates(ctx: Context, identity: Identity): Stream<{ myOrderUpdates: Order }> {
  const userId = normaliseId(identity.userId);
  const live = ctx.live.subscribe({
    topic: TOPICS.orderEvents,
    key: userKey(userId),
    filter: ({ event }) => changeOf(event) !== undefined,
  });
  // At-least-once delivery may repeat an event; each order's sequence only moves forward.
  const latest = new Map<string, number>();
  return mapStream(live, async ({ event, traceparent }) => {
    const change = changeOf(event)!;
    const orderId = normaliseId(event.aggregateId);
    if (!isUuid(orderId) || (latest.get(orderId) ?? 0) >= change.sequence) return SKIP;
    latest.set(orderId, change.sequence);
    const order = await ctx.runtime.db.order.findUnique({ where: { id: orderId } });
    return order && order.userId === userId
      ? traceAt({ myOrderUpdates: asOf(order, change) }, traceparent ?? event.traceparent)
      : SKIP;
  });
}
