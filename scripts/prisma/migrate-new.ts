// Usage: tsx scripts/prisma/migrate-new.ts <service> <name>
//
// Like `prisma migrate dev --create-only --name <name>` for prisma/<service>/schema.prisma,
// without the native schema engine or a database: replays the existing migrations on an
// in-memory PGlite, diffs the result against schema.prisma and writes the difference as
// prisma/<service>/migrations/<timestamp>_<name>/migration.sql. Review (and extend) the SQL,
// then commit it. Writes nothing when the schema is already covered.
import { relative } from 'node:path';
import { runCli } from './cli.ts';
import { diffMigrationsToSchema, withSchemaEngine } from './engine.ts';
import {
  ensureMigrationLock,
  readMigrations,
  readSchemaFiles,
  service,
  UsageError,
  writeMigration,
} from './services.ts';

runCli(async () => {
  const [serviceName, name, ...rest] = process.argv.slice(2);
  if (!serviceName || !name || rest.length > 0)
    throw new UsageError('usage: migrate-new.ts <service> <migration-name>');
  const svc = service(serviceName);

  const migrations = await readMigrations(svc);
  const schemaFiles = await readSchemaFiles(svc);
  const sql = await withSchemaEngine([migrations], (session) =>
    diffMigrationsToSchema(session, migrations, schemaFiles),
  );
  if (sql === null) {
    console.log(`${svc.name}: no changes, schema.prisma matches its migrations`);
    return;
  }
  // The lock file pins the provider for `prisma migrate deploy`, as Prisma Migrate writes it.
  if (await ensureMigrationLock(svc)) {
    console.log(`created ${relative(process.cwd(), svc.migrationsDir)}/migration_lock.toml`);
  }
  const existing = migrations.migrationDirectories.map((dir) => dir.path);
  const file = await writeMigration(svc, name, sql, existing);
  console.log(`created ${relative(process.cwd(), file)}:\n`);
  console.log(sql.trimEnd());
});
