import type { Database } from '@storefront/platform/db/database';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type NotificationsDb = PrismaClient;
export type NotificationsTx = Prisma.TransactionClient;
export type { Channel, Notification, OrderSummary, Recipient } from './generated/client.ts';

/** A user as this service knows it: only the key; users owns everything else. */
export interface UserReference {
  id: string;
}

export interface NotificationsClientOptions {
  /** Called with every SQL statement the client sends (tests count them). */
  onQuery?: (sql: string) => void;
}

export function createNotificationsClient(database: Database, options: NotificationsClientOptions = {}): NotificationsDb {
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter: database.adapter });
  const client = new PrismaClient({ adapter: database.adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery(event.query));
  // The logging client differs from the plain one only in its `$on` overloads.
  return client as unknown as NotificationsDb;
}
