import type { Database } from '@storefront/platform/db/database';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type OrdersDb = PrismaClient;
export type OrdersTx = Prisma.TransactionClient;
export type { Order, OrderItem, OrderStatusChange, OrderStatus } from './generated/client.ts';

export interface OrdersClientOptions {
  /** Called with every SQL statement the client sends (tests count them). */
  onQuery?: (sql: string) => void;
}

export function createOrdersClient(database: Database, options: OrdersClientOptions = {}): OrdersDb {
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter: database.adapter });
  const client = new PrismaClient({ adapter: database.adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery(event.query));
  // The logging client differs from the plain one only in its `$on` overloads.
  return client as unknown as OrdersDb;
}
