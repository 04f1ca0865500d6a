/**
 * `npm run seed`: creates the admin account (SEED_ADMIN_EMAIL /
 * SEED_ADMIN_PASSWORD), a demo customer outside production, and the demo
 * catalog in the databases DATABASE_URL points at, announcing them on Kafka
 * (KAFKA_BROKERS) so the other services learn of them. Safe to run again.
 * The embedded default needs no seeding: `npm start` seeds it.
 */
import { createLogger } from '@storefront/platform/logger';
import { failStart } from '@storefront/platform/server';
import { loadUsersConfig, startUsers } from '@storefront/users';
import { loadProductsConfig, startProducts } from '@storefront/products';

const logger = createLogger({ name: 'seed' });
if (!process.env.DATABASE_URL || !process.env.KAFKA_BROKERS) {
  process.stderr.write(
    'npm run seed is for real backends: set DATABASE_URL and KAFKA_BROKERS. `npm start` seeds the embedded default itself.\n',
  );
  process.exit(1);
}
try {
  // Port 0: seeding must not clash with a running supergraph.
  const env = { ...process.env, USERS_PORT: '0', PRODUCTS_PORT: '0' };
  for (const start of [
    () => startUsers(loadUsersConfig(env), { logger }),
    () => startProducts(loadProductsConfig(env), { logger }),
  ]) {
    const service = await start();
    await service.seed();
    await service.relay.flush(); // publish the seed's events before stopping
    await service.stop();
  }
  process.stdout.write('Seeded the admin account, demo customer and demo catalog.\n');
} catch (error) {
  failStart(error, logger);
}
