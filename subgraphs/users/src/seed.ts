import { TOPICS } from '@storefront/platform/events/envelope';
import type { ServiceRuntime } from '@storefront/platform/server/service';
import { hashPassword } from './auth/passwords.ts';
import type { UsersConfig } from './config.ts';
import type { UsersDb, UsersTx } from './data/client.ts';
import { userRegistered } from './events/user-events.ts';

/** Creates the admin account from SEED_ADMIN_EMAIL/SEED_ADMIN_PASSWORD if it does not exist yet. */
export async function seedUsers(runtime: ServiceRuntime<UsersDb, UsersTx>, config: UsersConfig): Promise<{ created: boolean }> {
  const email = config.SEED_ADMIN_EMAIL.toLowerCase();
  if (await runtime.db.user.findUnique({ where: { email } })) return { created: false };
  const passwordHash = await hashPassword(config.SEED_ADMIN_PASSWORD, config.PASSWORD_HASH_COST);
  await runtime.transact(async (tx, emit) => {
    const admin = await tx.user.create({ data: { email, name: 'Store Admin', role: 'ADMIN', passwordHash } });
    await emit(TOPICS.userEvents, userRegistered(admin));
  });
  runtime.logger.info({ email }, 'seeded admin account');
  return { created: true };
}
