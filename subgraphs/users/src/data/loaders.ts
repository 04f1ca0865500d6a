import { createByIdLoader } from '@storefront/platform/db';
import type { UsersDb } from './client.ts';

/**
 * Per-request loaders: the gateway sends one representation per entity; these
 * collapse them into one query. A malformed id loads as null (NOT_FOUND for
 * `user(id)`, a null reference) instead of reaching the uuid column.
 */
export function createLoaders(db: UsersDb) {
  return {
    userById: createByIdLoader((ids) => db.user.findMany({ where: { id: { in: ids } } })),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
