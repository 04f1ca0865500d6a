import type { NotificationsTx } from './data/client.ts';
import type { UserSnapshot } from './events/incoming.ts';

/**
 * This service's copy of who its users are and how to reach them, kept from
 * user-events. Email delivery reads it; users stays the owner.
 */
export async function saveRecipient(tx: NotificationsTx, user: UserSnapshot): Promise<void> {
  const fields = { email: user.email, name: user.name, emailNotifications: user.emailNotifications };
  await tx.recipient.upsert({ where: { userId: user.userId }, create: { userId: user.userId, ...fields }, update: fields });
}

/** A deactivated user is kept (their notifications still name them) but is never emailed again. */
export async function deactivateRecipient(tx: NotificationsTx, userId: string, at: Date): Promise<void> {
  await tx.recipient.updateMany({ where: { userId, deactivatedAt: null }, data: { deactivatedAt: at } });
}
