import { createEvent, type EventEnvelope } from '@storefront/platform/events';
import type { Notification } from '../data/client.ts';

/** NotificationCreated on `notification-events`, keyed by notification id; the email channel's events are in email/events.ts. */
export interface NotificationCreatedData {
  notificationId: string;
  userId: string;
  channel: Notification['channel'];
  subject: string;
}

export const notificationCreated = (
  notification: Pick<Notification, 'id' | 'userId' | 'channel' | 'subject'>,
  cause?: Pick<EventEnvelope, 'traceparent'>,
): EventEnvelope<NotificationCreatedData> =>
  createEvent(
    'notifications',
    'NotificationCreated',
    notification.id,
    {
      notificationId: notification.id,
      userId: notification.userId,
      channel: notification.channel,
      subject: notification.subject,
    },
    cause?.traceparent ? { traceparent: cause.traceparent } : {},
  );
