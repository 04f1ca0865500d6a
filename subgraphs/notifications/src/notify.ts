import { randomUUID } from 'node:crypto';
import { TOPICS, type EventEnvelope } from '@storefront/platform/events';
import type { Emit } from '@storefront/platform/service';
import type { NotificationsTx } from './data/client.ts';
import { requestEmail } from './email/request.ts';
import { notificationCreated } from './events/notification-events.ts';
import type { RenderedMessage } from './templates.ts';

/**
 * Tells a user about something, on every channel they get: stored in-app
 * (announced as NotificationCreated) and, when they want email, an email
 * requested for the email consumer to send. Runs inside the consumer's
 * processOnce transaction; the (eventId, channel) unique key makes a second
 * delivery of the same cause a no-op even if the processed-events mark were lost.
 */
export async function notifyUser(
  tx: NotificationsTx,
  emit: Emit,
  notice: { userId: string; cause: EventEnvelope; message: RenderedMessage },
): Promise<void> {
  const inApp = {
    id: randomUUID(),
    userId: notice.userId,
    channel: 'IN_APP' as const,
    eventId: notice.cause.id,
    ...notice.message,
  };
  const { count } = await tx.notification.createMany({ data: [inApp], skipDuplicates: true });
  if (count === 1) await emit(TOPICS.notificationEvents, notificationCreated(inApp, notice.cause));
  await requestEmail(tx, emit, notice);
}
