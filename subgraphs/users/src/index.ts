import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'graphql';
import { sendJson } from '@storefront/platform/server';
import { startService, type ServiceDefinition, type StartDependencies } from '@storefront/platform/service';
import { loadSigningKeys } from './auth/signing-keys.ts';
import type { TokenSettings } from './auth/sessions.ts';
import { assertUsersProductionReady, type UsersConfig } from './config.ts';
import type { Context } from './context.ts';
import { createUsersClient, type UsersDb, type UsersTx } from './data/client.ts';
import { createLoaders } from './data/loaders.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { seedUsers } from './seed.ts';

export { assertUsersProductionReady, usersConfigSchema, loadUsersConfig, type UsersConfig } from './config.ts';
export { permissions as usersPermissions } from './permissions.ts';
export { createUsersClient, type UsersDb } from './data/client.ts';
export { generateSigningJwk } from './auth/signing-keys.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const usersTypeDefs = parse(readFileSync(join(root, 'subgraphs/users/schema.graphql'), 'utf8'));

/** The users service: accounts, sessions and the keys that sign access tokens. */
export function usersService(config: UsersConfig): ServiceDefinition<UsersDb, UsersTx, Context> {
  return {
    name: 'users',
    config,
    port: config.USERS_PORT,
    typeDefs: usersTypeDefs,
    migrationsDir: join(root, 'prisma/users/migrations'),
    createClient: createUsersClient,
    build: async (runtime) => {
      const keys = await loadSigningKeys(
        config.JWT_SIGNING_KEYS,
        config.NODE_ENV === 'production' ? undefined : join(config.DATA_DIR, 'users', 'jwt-keys.json'),
      );
      const tokens: TokenSettings = {
        keys,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      };
      return {
        resolvers,
        permissions,
        createContext: (base) => ({ ...base, runtime, loaders: createLoaders(runtime.db), tokens, config }),
        seed: () => seedUsers(runtime, config),
        // Public keys only: the gateway verifies access tokens with them.
        routes: (req, res) => {
          if (req.url !== '/.well-known/jwks.json') return false;
          sendJson(res, 200, { keys: keys.publicJwks });
          return true;
        },
      };
    },
  };
}

export async function startUsers(config: UsersConfig, dependencies?: StartDependencies) {
  assertUsersProductionReady(config, { seeding: false });
  return startService(usersService(config), dependencies);
}
