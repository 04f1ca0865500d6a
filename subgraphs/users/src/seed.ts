import { TOPICS } from '@storefront/platform/events';
import type { ServiceRuntime } from '@storefront/platform/service';
import { hashPassword } from './auth/passwords.ts';
import { assertUsersProductionReady, type UsersConfig } from './config.ts';
import type { Role, UsersDb, UsersTx } from './data/client.ts';
import { userRegistered } from './events/user-events.ts';

/**
 * Creates the admin account from SEED_ADMIN_EMAIL/SEED_ADMIN_PASSWORD and,
 * outside production, a demo customer. Accounts that exist are left alone.
 */
export async function seedUsers(runtime: ServiceRuntime<UsersDb, UsersTx>, config: UsersConfig): Promise<void> {
  assertUsersProductionReady(config, { seeding: true });
  await ensureAccount(runtime, config, {
    email: config.SEED_ADMIN_EMAIL,
    password: config.SEED_ADMIN_PASSWORD,
    name: 'Store Admin',
    role: 'ADMIN',
  });
  if (config.NODE_ENV !== 'production') {
    await ensureAccount(runtime, config, {
      email: config.SEED_CUSTOMER_EMAIL,
      password: config.SEED_CUSTOMER_PASSWORD,
      name: 'Demo Customer',
      role: 'CUSTOMER',
    });
  }
}

async function ensureAccount(
  runtime: ServiceRuntime<UsersDb, UsersTx>,
  config: UsersConfig,
  account: { email: string; password: string; name: string; role: Role },
): Promise<void> {
  const email = account.email.toLowerCase();
  if (await runtime.db.user.findUnique({ where: { email } })) return;
  const passwordHash = await hashPassword(account.password, config.PASSWORD_HASH_COST);
  await runtime.transact(async (tx, emit) => {
    const user = await tx.user.create({ data: { email, name: account.name, role: account.role, passwordHash } });
    await emit(TOPICS.userEvents, userRegistered(user));
  });
  runtime.logger.info({ email, role: account.role }, 'seeded account');
}
