/**
 * Applies every service's committed migrations (prisma/<service>/migrations)
 * to its own schema in the PostgreSQL database DATABASE_URL points at, then
 * exits. The one-shot job of docker-compose.yml and deploy/k8s runs it before
 * the services start; the services also migrate at start (under an advisory
 * lock), so running it twice, or concurrently with a rollout, is harmless.
 *
 *   DATABASE_URL=postgresql://… node --import tsx scripts/deploy/migrate.ts [service…]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@storefront/platform/config';
import { openDatabase } from '@storefront/platform/db';
import { createLogger } from '@storefront/platform/logger';
import { failStart } from '@storefront/platform/server';
import { serviceConfigSchema } from '@storefront/platform/service';

const root = fileURLToPath(new URL('../../', import.meta.url));
const config = loadConfig(serviceConfigSchema.pick({ NODE_ENV: true, LOG_LEVEL: true, DATABASE_URL: true }));
const logger = createLogger({ name: 'migrate', level: config.LOG_LEVEL });

try {
  if (!config.DATABASE_URL)
    throw new Error('DATABASE_URL: required (the embedded databases migrate themselves at start)');
  const all = readdirSync(join(root, 'prisma'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !all.includes(name));
  if (unknown.length) throw new Error(`unknown service(s) ${unknown.join(', ')}; known: ${all.join(', ')}`);
  for (const service of wanted.length ? wanted : all) {
    const database = await openDatabase({ url: config.DATABASE_URL, schema: service, poolSize: 1 });
    try {
      const report = await database.migrate(join(root, 'prisma', service, 'migrations'));
      logger.info({ service, applied: report.applied, alreadyApplied: report.alreadyApplied }, 'migrated');
    } finally {
      await database.close();
    }
  }
} catch (error) {
  failStart(error, logger);
}
