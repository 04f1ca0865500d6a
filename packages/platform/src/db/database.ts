import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { applyMigrations, type MigrationReport, type ScriptRunner } from './migrate.ts';
import { countStatements, type StatementCounter } from './statement-counter.ts';
import type { ServiceTracing } from '../telemetry/tracing.ts';
import { traceStatements } from '../telemetry/sql.ts';

/**
 * The database port. A service gets one of two adapters:
 * - PostgreSQL (`url` set): a pg pool pinned to the service's own schema.
 * - PGlite (no `url`): an embedded Postgres in `dataDir`, or in memory; a
 *   `dataDir` has one opener at a time (see data-dir-lock.ts).
 * Both run the same committed migrations and the same generated Prisma client.
 */
export interface DatabaseConfig {
  /** postgresql:// URL; absent means the embedded database. */
  url?: string | undefined;
  /** PostgreSQL schema that holds this service's tables, e.g. `orders`. */
  schema: string;
  /** Embedded only: where PGlite keeps its files; absent means in memory. */
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** A span per SQL statement inside a traced request or event (telemetry/sql.ts). */
  tracing?: ServiceTracing;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /** Give this to the service's generated `PrismaClient({ adapter })`. */
  readonly adapter: SqlMigrationAwareDriverAdapterFactory;
  /** SQL statements sent through `adapter` so far. */
  readonly statements: StatementCounter;
  migrate(migrationsDir: string): Promise<MigrationReport>;
  close(): Promise<void>;
}

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (!SAFE_IDENTIFIER.test(config.schema)) {
    throw new Error(`Database schema name "${config.schema}" must match ${SAFE_IDENTIFIER}`);
  }
  return config.url ? openPostgres(config.url, config) : openPGlite(config);
}

const traced = <T extends object>(adapter: T, config: DatabaseConfig): T =>
  config.tracing ? traceStatements(adapter, config.tracing, config.schema) : adapter;

async function openPostgres(url: string, config: DatabaseConfig): Promise<Database> {
  // Raw SQL (outbox, processed events) uses unqualified names, so every pooled
  // connection resolves them in the service's schema; Prisma's own queries are
  // qualified through the adapter's `schema` option.
  const pool = new pg.Pool({
    connectionString: url,
    max: config.poolSize ?? 10,
    options: `-c search_path=${config.schema}`,
  });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${config.schema}`);
  const statements: StatementCounter = { count: 0, inRequests: 0 };
  const adapter = countStatements(traced(new PrismaPg(pool, { schema: config.schema }), config), statements);

  const runScript: ScriptRunner = async (work) => {
    const client = await pool.connect();
    try {
      // Two instances starting together must not both migrate.
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${config.schema}`]);
      return await work({
        exec: async (sql) => void (await client.query(sql)),
        query: async (sql, params) => (await client.query(sql, params as unknown[])).rows as Record<string, unknown>[],
      });
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${config.schema}`]).catch(() => {});
      client.release();
    }
  };

  return {
    kind: 'postgres',
    adapter,
    statements,
    migrate: (dir) => applyMigrations(dir, runScript),
    close: () => pool.end(),
  };
}

async function openPGlite(config: DatabaseConfig): Promise<Database> {
  let unlock = () => {};
  if (config.dataDir) {
    mkdirSync(config.dataDir, { recursive: true });
    unlock = lockDataDir(config.dataDir);
  }
  const db = await PGlite.create(config.dataDir ?? 'memory://').catch((error: unknown) => {
    unlock();
    throw error;
  });
  const statements: StatementCounter = { count: 0, inRequests: 0 };
  const adapter = countStatements(traced(new PrismaPGlite(db), config), statements);
  const runScript: ScriptRunner = (work) =>
    work({
      exec: async (sql) => void (await db.exec(sql)),
      query: async (sql, params) => (await db.query(sql, params as unknown[])).rows as Record<string, unknown>[],
    });
  return {
    kind: 'pglite',
    adapter,
    statements,
    migrate: (dir) => applyMigrations(dir, runScript),
    close: async () => {
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
}
