// Usage: tsx scripts/prisma/check.ts [service...]   (default: every prisma/*/schema.prisma)
//
// Fails when a schema.prisma has changes that its migrations do not capture (drift), i.e.
// someone edited the schema and forgot `migrate-new`. The migrations are replayed on an
// in-memory PGlite, so this also fails when a migration no longer applies. Only what Prisma
// models is compared: hand-written triggers, functions, extensions etc. are not drift.
import { relative } from 'node:path';
import { runCli } from './cli.ts';
import { diffMigrationsToSchema, withSchemaEngine, type EngineSession } from './engine.ts';
import { allServices, readMigrations, readSchemaFiles, repoRoot, service, type Service } from './services.ts';

type Input = {
  svc: Service;
  migrations: Awaited<ReturnType<typeof readMigrations>>;
  schemaFiles: { path: string; content: string }[];
};

runCli(async () => {
  const names = process.argv.slice(2);
  const services = names.length > 0 ? names.map(service) : await allServices();
  if (services.length === 0) {
    console.log(`no prisma/*/schema.prisma under ${repoRoot}`);
    return 0;
  }
  const inputs: Input[] = await Promise.all(
    services.map(async (svc) => ({
      svc,
      migrations: await readMigrations(svc),
      schemaFiles: await readSchemaFiles(svc),
    })),
  );

  // One engine for all services (booting PGlite is the slow part); one at a time, so each
  // shadow database is replayed in isolation and the output stays in order.
  const failed = await withSchemaEngine(
    inputs.map((input) => input.migrations),
    async (session) => {
      let failures = 0;
      for (const input of inputs) {
        const problem = await findProblem(session, input);
        const count = input.migrations.migrationDirectories.length;
        if (problem) {
          failures++;
          console.error(`✗ ${input.svc.name}: ${problem}\n`);
        } else {
          console.log(`✓ ${input.svc.name}: schema.prisma matches its ${count} migration${count === 1 ? '' : 's'}`);
        }
      }
      return failures;
    },
  );
  if (failed > 0) {
    console.error(`${failed} of ${services.length} service(s) failed. After fixing the schema or migrations, create the missing migration with:
  npx tsx scripts/prisma/migrate-new.ts <service> <name>`);
  }
  return failed > 0 ? 1 : 0;
});

async function findProblem(session: EngineSession, { svc, migrations, schemaFiles }: Input): Promise<string | null> {
  const dir = relative(repoRoot, svc.migrationsDir);
  if (migrations.migrationDirectories.length > 0 && !migrations.lockfileExists) {
    return `${dir}/migration_lock.toml is missing (prisma migrate deploy needs it; migrate-new creates it)`;
  }
  let sql: string | null;
  try {
    sql = await diffMigrationsToSchema(session, migrations, schemaFiles);
  } catch (error) {
    return `could not compare schema.prisma with ${dir}:\n${indent(error instanceof Error ? error.message : String(error))}`;
  }
  if (sql === null) return null;
  return (
    `schema.prisma has changes not captured by ${dir} (drift).\n` +
    `  SQL missing from the migrations:\n\n${indent(sql.trimEnd(), '    ')}`
  );
}

function indent(text: string, prefix = '  '): string {
  return text.replace(/^(?=.)/gm, prefix);
}
