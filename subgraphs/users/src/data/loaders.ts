import DataLoader from 'dataloader';
import type { User, UsersDb } from './client.ts';

/** Per-request loaders: the gateway sends one representation per entity; these collapse them into one query. */
export function createLoaders(db: UsersDb) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      const rows = await db.user.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
