import type { Database } from '@storefront/platform/db';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type ProductsDb = PrismaClient;
export type ProductsTx = Prisma.TransactionClient;
export type { Category, Product, StockReservation } from './generated/client.ts';

export const createProductsClient = (database: Database): ProductsDb => new PrismaClient({ adapter: database.adapter });
