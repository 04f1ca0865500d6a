/**
 * A service's database: PostgreSQL (or the embedded PGlite) behind Prisma,
 * migrated at start, and per-request loaders that batch reads by id.
 */
export { openDatabase, type Database, type DatabaseConfig } from './database.ts';
export { createByIdLoader } from './loaders.ts';
export type { RawSql, TransactionalSql } from './sql.ts';
