import { z } from 'zod';
import { type DeadLetter, createEvent, deadLetterTopic, TOPICS, type EventEnvelope } from '@storefront/platform/events';
import { isUuid } from '@storefront/platform/resolvers';

/**
 * The email channel's own events. `EmailRequested` asks for one send attempt
 * of one EMAIL notification: the first on `notification-events`, the retries
 * on `notification-events.retry`, each carrying the time before which it must
 * not be tried. Mails given up on go to `notification-events.dlq` in the
 * platform's dead-letter shape, so one tool reads every DLQ.
 */
export const EMAIL_REQUEST_TOPIC = TOPICS.notificationEvents;
export const EMAIL_RETRY_TOPIC = `${TOPICS.notificationEvents}.retry`;
export const EMAIL_DEAD_LETTER_TOPIC = deadLetterTopic(TOPICS.notificationEvents);

export const EMAIL_REQUESTED = 'EmailRequested';

export interface EmailRequestedData {
  notificationId: string;
  /** Which attempt this is, from 1. It may only claim a notification with `attempt - 1` attempts behind it. */
  attempt: number;
  /** ISO time before which the attempt must not start (retries only). */
  notBefore?: string;
}

export const emailRequestedSchema = z.object({
  notificationId: z.string().refine(isUuid, 'must be a UUID'),
  attempt: z.number().int().min(1),
  notBefore: z.iso.datetime({ offset: true }).optional(),
});

/**
 * Keyed by the recipient, not the notification: one user's emails share a
 * partition, so first attempts go out in the order their causes happened
 * ("shipped" is not overtaken by "delivered").
 */
export const emailRequested = (
  notification: { id: string; userId: string },
  attempt: number,
  options: { notBefore?: Date; cause?: Pick<EventEnvelope, 'traceparent'> } = {},
): EventEnvelope<EmailRequestedData> =>
  createEvent(
    'notifications',
    EMAIL_REQUESTED,
    notification.userId,
    {
      notificationId: notification.id,
      attempt,
      ...(options.notBefore ? { notBefore: options.notBefore.toISOString() } : {}),
    },
    options.cause?.traceparent ? { traceparent: options.cause.traceparent } : {},
  );

/** The last request of an email given up on, with why, as the platform's consumers dead-letter events. */
export const emailDeadLetter = (letter: DeadLetter): EventEnvelope<DeadLetter> =>
  createEvent('notifications', 'DeadLetter', letter.event.aggregateId, letter);
