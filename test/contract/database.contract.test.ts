import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, appendFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, type Database } from '@storefront/platform/db';
import { createEvent, MemoryEventBus, enqueueEvents, OutboxRelay, markProcessed } from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import { createTestDatabase } from '@storefront/platform/testing';
import { createUsersClient, type UsersDb } from '@storefront/users';

/**
 * One contract, two adapters of the database port: PostgreSQL (when the test
 * command provides it) and the embedded PGlite must run the same migrations,
 * the same Prisma client and the same raw SQL the platform relies on.
 */
const logger = createLogger({ name: 'test', level: 'silent' });
const MIGRATIONS = join(import.meta.dirname, '../../prisma/users/migrations');

const adapters: [string, () => Promise<{ url?: string; dataDir?: string }>][] = [
  ['pglite', async () => ({ dataDir: mkdtempSync(join(tmpdir(), 'contract-pglite-')) })],
];
if (process.env.TEST_DATABASE_URL) adapters.push(['postgres', async () => ({ url: await createTestDatabase() })]);

/** Commits `count` numbered events for one key on user-events, as a service's transaction would. */
async function enqueueNumbered(db: UsersDb, count: number) {
  const events = Array.from({ length: count }, (_, n) => createEvent('test', 'Numbered', 'same-key', { n }));
  await db.$transaction((tx) =>
    enqueueEvents(
      tx,
      events.map((event) => ({ topic: 'user-events', event })),
    ),
  );
  return events;
}

for (const [name, location] of adapters) {
  // PGlite replays the migrations in WebAssembly: seconds on a quiet machine, most of a minute per test on a busy one.
  describe(`database contract: ${name}`, { timeout: 600_000 }, () => {
    const opened: { database: Database; db: UsersDb }[] = [];
    const open = async (where?: { url?: string; dataDir?: string }) => {
      const database = await openDatabase({ ...(where ?? (await location())), schema: 'users' });
      await database.migrate(MIGRATIONS);
      const db = createUsersClient(database);
      opened.push({ database, db });
      return { database, db };
    };
    after(async () => {
      for (const { database, db } of opened) {
        await db.$disconnect();
        await database.close();
      }
    });

    it('applies committed migrations once and records them as Prisma Migrate does', async () => {
      const where = await location();
      const { database } = await open(where);
      const again = await database.migrate(MIGRATIONS);
      assert.deepEqual(again.applied, []);
      assert.equal(again.alreadyApplied, readdirSync(MIGRATIONS).filter((d) => /^\d+_/.test(d)).length);
    });

    it('refuses a migration that was edited after it was applied', async () => {
      const where = await location();
      const copy = mkdtempSync(join(tmpdir(), 'migrations-'));
      cpSync(MIGRATIONS, copy, { recursive: true });
      const { database } = await open(where);
      await database.migrate(copy);
      const first = readdirSync(copy).find((d) => /^\d+_/.test(d))!;
      appendFileSync(join(copy, first, 'migration.sql'), '\n-- edited\n');
      await assert.rejects(database.migrate(copy), /was modified after it was applied/);
    });

    it('runs the generated Prisma client: create, unique violation, read back', async () => {
      const { db } = await open();
      const user = await db.user.create({ data: { email: 'a@example.com', name: 'A', passwordHash: 'x' } });
      await assert.rejects(
        db.user.create({ data: { email: 'a@example.com', name: 'B', passwordHash: 'x' } }),
        (e: { code?: string }) => e.code === 'P2002',
      );
      const found = await db.user.findUnique({ where: { id: user.id } });
      assert.equal(found?.name, 'A');
      assert.equal(found?.role, 'CUSTOMER');
    });

    it('rolls back a failed transaction whole, outbox rows included', async () => {
      const { db } = await open();
      await assert.rejects(
        db.$transaction(async (tx) => {
          await tx.user.create({ data: { email: 'rollback@example.com', name: 'R', passwordHash: 'x' } });
          await enqueueEvents(tx, [{ topic: 'user-events', event: createEvent('test', 'T', 'agg', {}) }]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await db.user.count({ where: { email: 'rollback@example.com' } }), 0);
      assert.equal(await db.outboxEvent.count(), 0);
    });

    it('relays committed outbox events in order and marks them published', async () => {
      const { db } = await open();
      const bus = new MemoryEventBus(logger);
      const events = await enqueueNumbered(db, 5);
      const relay = new OutboxRelay(db, bus, logger);
      assert.equal(await relay.flush(), 5);
      assert.equal(await relay.flush(), 0, 'nothing is published twice');
      assert.deepEqual(
        bus.read('user-events').map((e) => e.id),
        events.map((e) => e.id),
      );
      assert.equal(await db.outboxEvent.count({ where: { publishedAt: null } }), 0);
    });

    it('writes a transaction’s events of several topics in one statement, in the order given, payloads intact', async () => {
      const { db } = await open();
      const awkward = { text: 'quotes " and \\ backslashes, {braces}, commas, ünïcödé 🛒', list: [1, null, 'two'] };
      const events = ['first', 'second', 'third'].map((n) => createEvent('test', n, 'same-key', awkward));
      const topics = ['user-events', 'order-events', 'user-events'];
      await db.$transaction((tx) =>
        enqueueEvents(
          tx,
          events.map((event, i) => ({ topic: topics[i]!, event })),
        ),
      );
      const rows = await db.outboxEvent.findMany({ orderBy: { sequence: 'asc' } });
      assert.deepEqual(
        rows.map((r) => [r.id, r.topic, r.type]),
        events.map((e, i) => [e.id, topics[i], e.type]),
      );
      assert.deepEqual(
        rows.map((r) => r.payload),
        events.map((e) => JSON.parse(JSON.stringify(e))),
      );
    });

    // PGlite serves one connection at a time, so a second relay cannot run beside a held lock there.
    if (name === 'postgres')
      it('publishes nothing while another relay holds the outbox lock, and everything once it is free', async () => {
        const { db } = await open();
        const bus = new MemoryEventBus(logger);
        const events = await enqueueNumbered(db, 3);
        const relay = new OutboxRelay(db, bus, logger);
        await db.$transaction(async (tx) => {
          await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':outbox'))::text`);
          assert.equal(await relay.flush(), 0, 'the lock is held elsewhere');
        });
        assert.equal(bus.read('user-events').length, 0);
        assert.equal(await relay.flush(), 3);
        assert.deepEqual(
          bus.read('user-events').map((e) => e.id),
          events.map((e) => e.id),
        );
      });

    it('records processed events so a redelivered one is recognised', async () => {
      const { db } = await open();
      const first = await db.$transaction((tx) => markProcessed(tx, 'consumer-a', 'event-1'));
      const again = await db.$transaction((tx) => markProcessed(tx, 'consumer-a', 'event-1'));
      const otherConsumer = await db.$transaction((tx) => markProcessed(tx, 'consumer-b', 'event-1'));
      assert.deepEqual([first, again, otherConsumer], [true, false, true]);
    });

    it('ranks full-text search with tsvector the same way', async () => {
      const { db } = await open();
      const rows = await db.$queryRawUnsafe<{ doc: string; rank: number }[]>(
        `SELECT doc, ts_rank_cd(to_tsvector('english', doc), websearch_to_tsquery('english', $1)) AS rank
           FROM unnest($2::text[]) AS doc
          WHERE to_tsvector('english', doc) @@ websearch_to_tsquery('english', $1)
          ORDER BY rank DESC`,
        'running shoes',
        ['Running shoes for running', 'A shoe', 'Trail running shoe', 'Socks'],
      );
      assert.deepEqual(
        rows.map((r) => r.doc),
        ['Running shoes for running', 'Trail running shoe'],
      );
    });
  });
}
