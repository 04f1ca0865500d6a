import type { Identity } from '@storefront/platform/auth';
import { type DeliveredEvent, TOPICS, type LiveFeed } from '@storefront/platform/events';
import { isUuid, normaliseId } from '@storefront/platform/resolvers';
import type { ServiceRuntime } from '@storefront/platform/service';
import { mapStream, SKIP, type Stream } from '@storefront/platform/streams';
import type { Context } from './context.ts';
import type { Notification, NotificationsDb, NotificationsTx } from './data/client.ts';

/**
 * `notificationReceived`: the caller's new in-app notifications, pushed from
 * the instance's live feed of notification-events (NotificationCreated).
 * The event only names the notification; the pushed value is the stored row.
 */
const userKey = (userId: string) => `user:${normaliseId(userId)}`;

/** Notification events are also found by their user, so each subscriber sees only its own without scanning. */
const indexByUser = ({ event }: DeliveredEvent): string[] => {
  const userId = (event.data as { userId?: unknown } | null)?.userId;
  return typeof userId === 'string' ? [userKey(userId)] : [];
};

export const notificationsLiveFeed = (runtime: ServiceRuntime<NotificationsDb, NotificationsTx>): LiveFeed =>
  runtime.liveFeed([TOPICS.notificationEvents], { indexBy: indexByUser });

export function notificationReceived(ctx: Context, identity: Identity): Stream<{ notificationReceived: Notification }> {
  const userId = normaliseId(identity.userId);
  const live = ctx.live.subscribe({
    topic: TOPICS.notificationEvents,
    key: userKey(userId),
    filter: ({ event }) => event.type === 'NotificationCreated',
  });
  const sent = new Set<string>(); // at-least-once delivery may repeat an event
  return mapStream(live, async ({ event }) => {
    const id = (event.data as { notificationId?: unknown } | null)?.notificationId;
    if (typeof id !== 'string' || !isUuid(id) || sent.has(normaliseId(id))) return SKIP;
    const notification = await ctx.runtime.db.notification.findUnique({ where: { id: normaliseId(id) } });
    if (!notification || notification.userId !== userId) return SKIP;
    sent.add(notification.id);
    return { notificationReceived: notification };
  });
}
