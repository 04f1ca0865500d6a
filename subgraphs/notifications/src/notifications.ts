import { isStaff, type Identity } from '@storefront/platform/auth';
import { ForbiddenError, NotFoundError } from '@storefront/platform/errors';
import { isUuid } from '@storefront/platform/resolvers';
import type { Context } from './context.ts';
import type { Notification } from './data/client.ts';

/**
 * What users do with their notifications. Someone else's notification is
 * FORBIDDEN rather than NOT_FOUND, like every other entity in the graph; ids
 * are random UUIDs, so the answer cannot be used to discover notifications,
 * and it carries nothing of the notification itself.
 */
export async function viewNotification(ctx: Context, identity: Identity, id: string): Promise<Notification> {
  const notification = await ctx.loaders.notificationById.load(id);
  if (!notification) throw new NotFoundError('Notification', id);
  if (notification.userId !== identity.userId && !isStaff(identity)) throw new ForbiddenError();
  return notification;
}

/** Only the owner may mark it read (staff reading it is not the user reading it). Idempotent: the first readAt stays. */
export async function markRead(ctx: Context, identity: Identity, id: string): Promise<Notification> {
  const db = ctx.runtime.db;
  const notification = isUuid(id) ? await db.notification.findUnique({ where: { id } }) : null;
  if (!notification) throw new NotFoundError('Notification', id);
  if (notification.userId !== identity.userId) throw new ForbiddenError('Only its owner can mark a notification read');
  if (notification.readAt) return notification;
  // Of two concurrent calls only one sets readAt; the other reads what it set.
  await db.notification.updateMany({ where: { id: notification.id, readAt: null }, data: { readAt: new Date() } });
  return db.notification.findUniqueOrThrow({ where: { id: notification.id } });
}
