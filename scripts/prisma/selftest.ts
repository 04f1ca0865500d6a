// End-to-end test of migrate-new.ts / check.ts / generate.sh on sample schemas in a temp dir.
// Run: npm run db:selftest
//
// Also applies the generated migrations, each service in its own PostgreSQL schema through
// search_path (as the services run), to a fresh PGlite and, when reachable, to the real
// PostgreSQL at SELFTEST_DATABASE_URL (default: the dev server of scripts/services).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

const here = dirname(fileURLToPath(import.meta.url));
const databaseUrl =
  process.env.SELFTEST_DATABASE_URL ?? 'postgresql://storefront:storefront@127.0.0.1:54329/storefront';
let root: string;

const ORDERS_SCHEMA = `generator client {
  provider     = "prisma-client"
  output       = "../../generated/orders"
  moduleFormat = "esm"
}

datasource db {
  provider = "postgresql"
}

enum OrderStatus {
  PENDING
  PAID
  SHIPPED
}

model Order {
  id         String      @id @default(uuid()) @db.Uuid
  number     BigInt      @default(autoincrement())
  customerId String      @map("customer_id") @db.Uuid
  status     OrderStatus @default(PENDING)
  totalCents Int         @map("total_cents")
  metadata   Json        @default("{}")
  createdAt  DateTime    @default(now()) @map("created_at") @db.Timestamptz(3)
  items      OrderItem[]

  @@unique([number])
  @@index([customerId, createdAt(sort: Desc)])
  @@map("orders")
}

model OrderItem {
  orderId   String  @map("order_id") @db.Uuid
  productId String  @map("product_id") @db.Uuid
  quantity  Int
  price     Decimal @db.Decimal(12, 2)
  order     Order   @relation(fields: [orderId], references: [id], onDelete: Cascade)

  @@unique([orderId, productId])
  @@map("order_items")
}
`;

// Full-text search the way Prisma can express it: the tsvector column is Unsupported(...),
// its generation expression is a dbgenerated default spelled exactly as PostgreSQL deparses
// it, and the indexes (GIN, trigram opclass) are modelled. The trigger, function, check
// constraint and view in the hand-written migration are outside Prisma's model.
const CATALOG_SCHEMA = `generator client {
  provider     = "prisma-client"
  output       = "../../generated/catalog"
  moduleFormat = "esm"
}

datasource db {
  provider = "postgresql"
}

model Product {
  id           String                   @id @default(uuid()) @db.Uuid
  name         String
  priceCents   Int                      @map("price_cents")
  searchVector Unsupported("tsvector")? @default(dbgenerated("to_tsvector('simple'::regconfig, name)")) @map("search_vector")

  @@index([searchVector], type: Gin)
  @@index([name(ops: raw("gin_trgm_ops"))], type: Gin, map: "products_name_trgm_idx")
  @@map("products")
}

model ProductAudit {
  id        BigInt   @id @default(autoincrement())
  productId String   @map("product_id") @db.Uuid
  at        DateTime @default(now()) @db.Timestamptz(6)

  @@map("product_audit")
}
`;

const CATALOG_MIGRATION = `CREATE EXTENSION IF NOT EXISTS "pg_trgm";

CREATE TABLE "products" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "price_cents" INTEGER NOT NULL,
    "search_vector" tsvector GENERATED ALWAYS AS (to_tsvector('simple', "name")) STORED,
    CONSTRAINT "products_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "products_price_nonnegative" CHECK ("price_cents" >= 0)
);
CREATE INDEX "products_search_vector_idx" ON "products" USING GIN ("search_vector");
CREATE INDEX "products_name_trgm_idx" ON "products" USING GIN ("name" gin_trgm_ops);

CREATE TABLE "product_audit" (
    "id" BIGSERIAL PRIMARY KEY,
    "product_id" UUID NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE FUNCTION products_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO product_audit (product_id) VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER products_audit AFTER INSERT OR UPDATE ON "products"
  FOR EACH ROW EXECUTE FUNCTION products_audit();
CREATE VIEW "cheap_products" AS SELECT "id", "name" FROM "products" WHERE "price_cents" < 1000;
`;

function run(script: string, ...args: string[]) {
  const command = script.endsWith('.sh') ? 'bash' : process.execPath;
  const argv = script.endsWith('.sh') ? [join(here, script)] : ['--import', 'tsx', join(here, script), ...args];
  const result = spawnSync(command, argv, { env: { ...process.env, PRISMA_ROOT: root }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, output: result.stdout + result.stderr };
}

async function migrationDirs(service: string): Promise<string[]> {
  const dir = join(root, 'prisma', service, 'migrations');
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function migrationSql(service: string, dir: string): Promise<string> {
  return readFile(join(root, 'prisma', service, 'migrations', dir, 'migration.sql'), 'utf8');
}

/** Applies the migrations of `service` not yet applied, in their own schema, one transaction each. */
async function applyToPglite(pg: PGlite, service: string, applied: Set<string>) {
  await pg.exec(`CREATE SCHEMA IF NOT EXISTS "${service}"; SET search_path TO "${service}"`);
  for (const dir of await migrationDirs(service)) {
    const key = `${service}/${dir}`;
    if (applied.has(key)) continue;
    const sql = await migrationSql(service, dir);
    await pg.transaction((tx) => tx.exec(sql));
    applied.add(key);
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'prisma-selftest-'));
  await mkdir(join(root, 'prisma/orders'), { recursive: true });
  await writeFile(join(root, 'prisma/orders/schema.prisma'), ORDERS_SCHEMA);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const pg = new PGlite({ extensions: { pg_trgm } });
const applied = new Set<string>();
after(() => pg.close());

test('migrate-new writes an init migration and the lock file', async () => {
  const { code, output } = run('migrate-new.ts', 'orders', 'init');
  assert.equal(code, 0, output);
  const dirs = await migrationDirs('orders');
  assert.equal(dirs.length, 1);
  assert.match(dirs[0]!, /^\d{14}_init$/);
  const sql = await migrationSql('orders', dirs[0]!);
  assert.match(sql, /CREATE TYPE "OrderStatus" AS ENUM/);
  assert.match(sql, /CREATE TABLE "orders"/); // unqualified: the schema comes from search_path
  assert.match(sql, /"number" BIGSERIAL NOT NULL/);
  assert.doesNotMatch(sql, /CREATE SCHEMA|"public"\./);
  const lock = await readFile(join(root, 'prisma/orders/migrations/migration_lock.toml'), 'utf8');
  assert.match(lock, /provider = "postgresql"/);
});

test('the init migration applies to a fresh PGlite, inside the service schema', async () => {
  await applyToPglite(pg, 'orders', applied);
  const { rows } = await pg.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'orders' ORDER BY 1`,
  );
  assert.deepEqual(
    rows.map((r) => r.table_name),
    ['order_items', 'orders'],
  );
});

test('a second migrate-new finds no changes and writes nothing', async () => {
  const { code, output } = run('migrate-new.ts', 'orders', 'again');
  assert.equal(code, 0, output);
  assert.match(output, /no changes/);
  assert.equal((await migrationDirs('orders')).length, 1);
  assert.equal(run('check.ts').code, 0);
});

test('a new field is drift until migrate-new captures it as an ALTER', async () => {
  const schemaPath = join(root, 'prisma/orders/schema.prisma');
  const schema = await readFile(schemaPath, 'utf8');
  await writeFile(schemaPath, schema.replace('  metadata   Json', '  note       String?\n  metadata   Json'));

  const check = run('check.ts', 'orders');
  assert.equal(check.code, 1, check.output);
  assert.match(check.stderr, /orders: .*drift/);
  assert.match(check.stderr, /ALTER TABLE "orders" ADD COLUMN\s+"note" TEXT/);

  const created = run('migrate-new.ts', 'orders', 'Add order note');
  assert.equal(created.code, 0, created.output);
  const dirs = await migrationDirs('orders');
  assert.equal(dirs.length, 2);
  assert.match(dirs[1]!, /^\d{14}_add_order_note$/);
  assert.ok(dirs[1]! > dirs[0]!, 'the new migration sorts after the old one');
  assert.match(await migrationSql('orders', dirs[1]!), /ALTER TABLE "orders" ADD COLUMN\s+"note" TEXT/);

  const recheck = run('check.ts');
  assert.equal(recheck.code, 0, recheck.output);
  assert.match(recheck.stdout, /✓ orders: schema\.prisma matches its 2 migrations/);
  await applyToPglite(pg, 'orders', applied);
});

test('hand-written SQL outside Prisma’s model is not drift; unmodelled parts are', async () => {
  const migrationDir = join(root, 'prisma/catalog/migrations/20240101000000_init');
  await mkdir(migrationDir, { recursive: true });
  await writeFile(join(root, 'prisma/catalog/schema.prisma'), CATALOG_SCHEMA);
  await writeFile(join(migrationDir, 'migration.sql'), CATALOG_MIGRATION);
  await writeFile(join(root, 'prisma/catalog/migrations/migration_lock.toml'), 'provider = "postgresql"\n');
  const ok = run('check.ts', 'catalog');
  assert.equal(ok.code, 0, ok.output);

  // The same migration against a schema that leaves out the trigram index: Prisma sees an
  // index it does not know and wants to drop it.
  await writeFile(
    join(root, 'prisma/catalog/schema.prisma'),
    CATALOG_SCHEMA.replace(/\n {2}@@index\(\[name.*\n/, '\n'),
  );
  const drift = run('check.ts', 'catalog');
  assert.equal(drift.code, 1, drift.output);
  assert.match(drift.stderr, /DROP INDEX "products_name_trgm_idx"/);
  await writeFile(join(root, 'prisma/catalog/schema.prisma'), CATALOG_SCHEMA);

  await applyToPglite(pg, 'catalog', applied);
  await pg.exec(
    `SET search_path TO catalog; INSERT INTO products (id, name, price_cents) VALUES (gen_random_uuid(), 'Red kettle', 2500)`,
  );
  const { rows } = await pg.query(`SELECT count(*)::int AS n FROM catalog.product_audit`);
  assert.deepEqual(rows, [{ n: 1 }]);
});

test('generate.sh generates every client quietly', () => {
  const { code, output } = run('generate.sh');
  assert.equal(code, 0, output);
  assert.equal(output, '');
  assert.ok(existsSync(join(root, 'generated/orders/client.ts')));
  assert.ok(existsSync(join(root, 'generated/catalog/client.ts')));
});

test('the migrations apply to a real PostgreSQL', async (t) => {
  const psql = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('psql', [databaseUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  const probe = psql(['-c', 'SELECT 1']);
  if (probe.error || probe.status !== 0) {
    t.skip(`no PostgreSQL at ${databaseUrl}: ${(probe.error?.message ?? probe.stderr).trim()}`);
    return;
  }
  const prefix = `prisma_selftest_${process.pid}`;
  try {
    for (const service of ['orders', 'catalog']) {
      const schema = `${prefix}_${service}`;
      const create = psql(['-c', `CREATE SCHEMA "${schema}"`]);
      assert.equal(create.status, 0, create.stderr);
      for (const dir of await migrationDirs(service)) {
        const file = join(root, 'prisma', service, 'migrations', dir, 'migration.sql');
        // PGOPTIONS sets search_path for the session, like `?schema=` in the services' URL.
        const apply = psql(['--single-transaction', '-f', file], { PGOPTIONS: `-c search_path=${schema}` });
        assert.equal(apply.status, 0, `${service}/${dir}: ${apply.stderr}`);
      }
    }
    const tables = psql([
      '-At',
      '-c',
      `SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema LIKE '${prefix}%' ORDER BY 1`,
    ]);
    assert.deepEqual(tables.stdout.trim().split('\n'), [
      `${prefix}_catalog.cheap_products`,
      `${prefix}_catalog.product_audit`,
      `${prefix}_catalog.products`,
      `${prefix}_orders.order_items`,
      `${prefix}_orders.orders`,
    ]);
  } finally {
    psql(['-c', `DROP SCHEMA IF EXISTS "${prefix}_orders" CASCADE; DROP SCHEMA IF EXISTS "${prefix}_catalog" CASCADE`]);
  }
});
