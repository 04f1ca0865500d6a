import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@storefront/platform/events';
import type { Emit } from '@storefront/platform/service';
import type { NotificationsTx, Recipient } from '../data/client.ts';
import type { RenderedMessage } from '../templates.ts';
import { EMAIL_REQUEST_TOPIC, emailRequested } from './events.ts';

export type EmailRequestOutcome = 'requested' | 'duplicate' | 'opted-out' | 'deactivated' | 'unknown-recipient';

/**
 * Inside the transaction that records what happened: an EMAIL notification
 * for the message, PENDING, and the EmailRequested event for its first
 * attempt, through the outbox. Row and event commit together, so an email
 * is neither requested for a change that rolled back nor forgotten for one
 * that committed; the sending happens later, in the email consumer.
 *
 * The recipient's wishes are read here (email off, deactivated) and again
 * before sending, so a change in between still counts. A user this service
 * has not heard of on user-events gets no email: there is no address to use
 * (users publishes UserRegistered long before that user's first order).
 */
export async function requestEmail(
  tx: NotificationsTx,
  emit: Emit,
  request: { userId: string; cause: EventEnvelope; message: RenderedMessage },
): Promise<EmailRequestOutcome> {
  const recipient = await tx.recipient.findUnique({ where: { userId: request.userId } });
  const unwanted = whyNotEmail(recipient);
  if (unwanted) return unwanted;
  const notification = {
    id: randomUUID(),
    userId: request.userId,
    channel: 'EMAIL' as const,
    eventId: request.cause.id,
    status: 'PENDING' as const,
    ...request.message,
  };
  // (eventId, channel) is unique: a cause seen again requests nothing new.
  const { count } = await tx.notification.createMany({ data: [notification], skipDuplicates: true });
  if (count === 0) return 'duplicate';
  await emit(EMAIL_REQUEST_TOPIC, emailRequested(notification, 1, { cause: request.cause }));
  return 'requested';
}

/** Why this recipient must not be emailed now, or null when they may be. */
export function whyNotEmail(
  recipient: Recipient | null,
): Exclude<EmailRequestOutcome, 'requested' | 'duplicate'> | null {
  if (!recipient) return 'unknown-recipient';
  if (recipient.deactivatedAt) return 'deactivated';
  if (!recipient.emailNotifications) return 'opted-out';
  return null;
}
