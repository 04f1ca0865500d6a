import { randomUUID } from 'node:crypto';
import { createEvent, TOPICS, type EventEnvelope } from '@storefront/platform/events';
import type { RunningService } from '@storefront/platform/service';
import { eventually } from '@storefront/platform/testing';
import type { NotificationsDb } from '../src/data/client.ts';

/** Events as orders and users publish them, for feeding the service in tests. */
const STATUS_OF = {
  OrderConfirmed: 'CONFIRMED',
  OrderPaid: 'PAID',
  OrderShipped: 'SHIPPED',
  OrderDelivered: 'DELIVERED',
  OrderCancelled: 'CANCELLED',
  OrderRejected: 'REJECTED',
} as const;

export type StatusEventType = keyof typeof STATUS_OF;

export const orderPlaced = (orderId: string, userId: string, quantities: number[]): EventEnvelope =>
  createEvent('orders', 'OrderPlaced', orderId, {
    orderId,
    userId,
    items: quantities.map((quantity) => ({ productId: randomUUID(), quantity })),
  });

export const orderStatus = (
  type: StatusEventType,
  orderId: string,
  userId: string,
  extra: { sequence?: number; reason?: string; total?: { amount: number; currency: string } } = {},
): EventEnvelope =>
  createEvent('orders', type, orderId, {
    orderId,
    userId,
    status: STATUS_OF[type],
    sequence: extra.sequence ?? 2,
    at: new Date().toISOString(),
    ...(extra.reason ? { reason: extra.reason } : {}),
    ...(extra.total ? { total: extra.total } : {}),
  });

export const userSnapshot = (
  type: 'UserRegistered' | 'UserUpdated',
  userId: string,
  fields: { email: string; name: string; emailNotifications?: boolean },
) => createEvent('users', type, userId, { userId, role: 'CUSTOMER', emailNotifications: true, ...fields });

export const publishOrderEvents = (service: RunningService<NotificationsDb>, ...events: EventEnvelope[]) =>
  service.bus.publish(TOPICS.orderEvents, events);

/** Waits until the user has `count` notifications and returns them, newest first. */
export const notificationsOf = (service: RunningService<NotificationsDb>, userId: string, count: number) =>
  eventually(
    async () => {
      const rows = await service.db.notification.findMany({
        where: { userId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
      return rows.length >= count ? rows : undefined;
    },
    15_000,
    `${count} notifications for ${userId}`,
  );

/** Publishes UserRegistered (and any further user events) and waits until the recipient reflects the last one. */
export async function registerUser(
  service: RunningService<NotificationsDb>,
  userId: string,
  fields: { email: string; name: string; emailNotifications?: boolean },
): Promise<EventEnvelope> {
  const registered = userSnapshot('UserRegistered', userId, fields);
  await service.bus.publish(TOPICS.userEvents, [registered]);
  await eventually(
    () => service.db.recipient.findUnique({ where: { userId } }).then((r) => r ?? undefined),
    15_000,
    `recipient ${userId}`,
  );
  return registered;
}

/** The user's EMAIL notifications, oldest first. */
export const emailRowsOf = (service: RunningService<NotificationsDb>, userId: string) =>
  service.db.notification.findMany({
    where: { userId, channel: 'EMAIL' },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });

/** Waits until the user has `count` EMAIL notifications, all in a final state (not PENDING/SENDING). */
export const settledEmailsOf = (service: RunningService<NotificationsDb>, userId: string, count: number) =>
  eventually(
    async () => {
      const rows = await emailRowsOf(service, userId);
      return rows.length >= count && rows.every((r) => r.status !== 'PENDING' && r.status !== 'SENDING')
        ? rows
        : undefined;
    },
    20_000,
    `${count} settled emails for ${userId}`,
  );

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
