import { accessTokenClaimsEnv, loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import { z } from 'zod';

export const usersConfigSchema = serviceConfigSchema.extend({
  USERS_PORT: env.port(4001).describe('Port of the users service.'),
  JWT_SIGNING_KEYS: z
    .string()
    .optional()
    .describe(
      'JSON array of private Ed25519 JWKs, each with a `kid`: the first signs, all verify (rotation). Unset: a key generated into DATA_DIR; required in production.',
    ),
  ...accessTokenClaimsEnv,
  ACCESS_TOKEN_TTL_SECONDS: env
    .int(900, 30)
    .describe(
      "Lifetime of an access token. Keep at or below the gateway's ACCESS_TOKEN_MAX_TTL_SECONDS, or the gateway refuses every token.",
    ),
  REFRESH_TOKEN_TTL_SECONDS: env.int(30 * 24 * 3600, 60).describe('Lifetime of a refresh token (each use rotates it).'),
  PASSWORD_HASH_COST: env
    .int(16, 10)
    .describe("log2 of scrypt's N for password hashes: 16 means 64 MiB per hash. Lower only for tests."),
  SEED_ADMIN_EMAIL: z.string().default('admin@storefront.local').describe('Email of the admin created when seeding.'),
  SEED_ADMIN_PASSWORD: z
    .string()
    .default('admin-password-1')
    .describe(
      'Password of the admin created when seeding; the development default is refused when seeding in production.',
    ),
  SEED_CUSTOMER_EMAIL: z
    .string()
    .default('customer@storefront.local')
    .describe('Email of the demo customer created when seeding outside production.'),
  SEED_CUSTOMER_PASSWORD: z
    .string()
    .default('customer-password-1')
    .describe('Password of the demo customer created when seeding outside production.'),
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
