import type { EventEnvelope } from '@storefront/platform/events';
import type { Emit } from '@storefront/platform/service';
import type { NotificationsTx } from './data/client.ts';
import type { UserSnapshot } from './events/incoming.ts';
import { notifyUser } from './notify.ts';
import { renderWelcome } from './templates.ts';

/**
 * This service's copy of who its users are and how to reach them, kept from
 * user-events. Email delivery reads it; users stays the owner.
 */
export async function saveRecipient(tx: NotificationsTx, user: UserSnapshot): Promise<void> {
  const fields = { email: user.email, name: user.name, emailNotifications: user.emailNotifications };
  await tx.recipient.upsert({
    where: { userId: user.userId },
    create: { userId: user.userId, ...fields },
    update: fields,
  });
}

/** A deactivated user is kept (their notifications still name them) but is never emailed again. */
export async function deactivateRecipient(tx: NotificationsTx, userId: string, at: Date): Promise<void> {
  await tx.recipient.updateMany({ where: { userId, deactivatedAt: null }, data: { deactivatedAt: at } });
}

/** A new user's welcome, in-app and, unless they signed up with email off, by email. Call after saveRecipient. */
export async function welcomeRecipient(
  tx: NotificationsTx,
  emit: Emit,
  registered: EventEnvelope,
  user: UserSnapshot,
): Promise<void> {
  await notifyUser(tx, emit, { userId: user.userId, cause: registered, message: renderWelcome({ name: user.name }) });
}
