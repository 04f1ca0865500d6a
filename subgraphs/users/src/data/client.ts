import type { Database } from '@storefront/platform/db';
import { PrismaClient, type Prisma } from './generated/client.ts';

export type UsersDb = PrismaClient;
export type UsersTx = Prisma.TransactionClient;
export type { User, Role } from './generated/client.ts';

export const createUsersClient = (database: Database): UsersDb => new PrismaClient({ adapter: database.adapter });
