import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import { z } from 'zod';

export const usersConfigSchema = serviceConfigSchema.extend({
  USERS_PORT: env.port(4001),
  /** JSON array of private JWKs (Ed25519); the first signs, all verify. Absent: a key kept in DATA_DIR. */
  JWT_SIGNING_KEYS: z.string().optional(),
  JWT_ISSUER: z.string().default('storefront'),
  JWT_AUDIENCE: z.string().default('storefront-api'),
  ACCESS_TOKEN_TTL_SECONDS: env.int(900, 30),
  REFRESH_TOKEN_TTL_SECONDS: env.int(30 * 24 * 3600, 60),
  /** log2 of scrypt's N; 16 means 64 MiB per hash. Lower only for tests. */
  PASSWORD_HASH_COST: env.int(16, 10),
  SEED_ADMIN_EMAIL: z.string().default('admin@storefront.local'),
  SEED_ADMIN_PASSWORD: z.string().default('admin-password-1'),
  /** A demo customer for trying the API; not created in production. */
  SEED_CUSTOMER_EMAIL: z.string().default('customer@storefront.local'),
  SEED_CUSTOMER_PASSWORD: z.string().default('customer-password-1'),
});

export type UsersConfig = z.infer<typeof usersConfigSchema>;

export const loadUsersConfig = (source: Record<string, string | undefined> = process.env): UsersConfig =>
  loadConfig(usersConfigSchema, source);

const DEV_ADMIN_PASSWORD = usersConfigSchema.shape.SEED_ADMIN_PASSWORD.parse(undefined);

/** Development defaults that would be a hole in production stop the start, naming the variable. */
export function assertUsersProductionReady(config: UsersConfig, options: { seeding: boolean }): void {
  if (config.NODE_ENV !== 'production') return;
  if (!config.JWT_SIGNING_KEYS)
    throw new Error(
      'JWT_SIGNING_KEYS: required in production (without it every instance signs with a key of its own, made at ' +
        'start: its tokens fail on the other instances and after each restart)',
    );
  if (options.seeding && config.SEED_ADMIN_PASSWORD === DEV_ADMIN_PASSWORD)
    throw new Error(
      'SEED_ADMIN_PASSWORD: set a password of your own in production (the development default is public)',
    );
}
