import type { Database } from '@storefront/platform/db';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type OrdersDb = PrismaClient;
export type OrdersTx = Prisma.TransactionClient;
export type { Order, OrderItem, OrderStatusChange, OrderStatus } from './generated/client.ts';

export const createOrdersClient = (database: Database): OrdersDb => new PrismaClient({ adapter: database.adapter });
