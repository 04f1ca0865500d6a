import type { Database } from '@storefront/platform/db';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type NotificationsDb = PrismaClient;
export type NotificationsTx = Prisma.TransactionClient;
export type { Channel, Notification, OrderSummary, Recipient } from './generated/client.ts';

/** A user as this service knows it: only the key; users owns everything else. */
export interface UserReference {
  id: string;
}

export const createNotificationsClient = (database: Database): NotificationsDb =>
  new PrismaClient({ adapter: database.adapter });
