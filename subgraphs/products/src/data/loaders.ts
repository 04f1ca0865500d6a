import DataLoader from 'dataloader';
import { createByIdLoader } from '@storefront/platform/db';
import {
  encodeCursor,
  toConnection,
  type Connection,
  type Keyset,
  type PageBounds,
} from '@storefront/platform/resolvers';
import type { Product, ProductsDb } from './client.ts';

/** One page of one category's products; categories asking for the same page share a query. */
export interface CategoryPageKey extends PageBounds {
  categoryId: string;
}

/**
 * Per-request loaders: the gateway sends one representation per entity and
 * one `category` per product; these collapse them into one query each.
 * Ids that are not UUIDs resolve to null without reaching the database.
 */
export function createLoaders(db: ProductsDb) {
  const productById = createByIdLoader((ids) => db.product.findMany({ where: { id: { in: ids } } }));
  const categoryById = createByIdLoader((ids) => db.category.findMany({ where: { id: { in: ids } } }));

  const productsOfCategory = new DataLoader<CategoryPageKey, Connection<Product>, string>(
    async (keys) => {
      const pages = new Map<string, Connection<Product>>();
      for (const group of groupBy(keys, pageKey).values()) {
        const { size, after } = group[0]!;
        const ids = await categoryPageIds(db, [...new Set(group.map((k) => k.categoryId))], size, after);
        const products = (await productById.loadMany(ids.map((row) => row.id))).filter(isProduct);
        for (const key of group) {
          const rows = products.filter((p) => p.categoryId === key.categoryId);
          pages.set(cacheKey(key), toConnection(rows, size));
        }
      }
      return keys.map((key) => pages.get(cacheKey(key))!);
    },
    { cacheKeyFn: cacheKey },
  );

  return { productById, categoryById, productsOfCategory };
}

export type Loaders = ReturnType<typeof createLoaders>;

const pageKey = (key: CategoryPageKey) => `${key.size}|${key.after ? encodeCursor(key.after) : ''}`;
const cacheKey = (key: CategoryPageKey) => `${key.categoryId}|${pageKey(key)}`;
const isProduct = (value: Product | null | Error): value is Product => value !== null && !(value instanceof Error);

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/**
 * The first `size + 1` products (newest first) of each category after the
 * keyset, in one statement however many categories ask: the extra row tells
 * whether a next page exists.
 */
function categoryPageIds(db: ProductsDb, categoryIds: string[], size: number, after: Keyset | null) {
  return after
    ? db.$queryRaw<{ id: string }[]>`
        SELECT id FROM (
          SELECT id, category_id, created_at,
                 row_number() OVER (PARTITION BY category_id ORDER BY created_at DESC, id DESC) AS position
          FROM products
          WHERE category_id = ANY(${categoryIds}::uuid[])
            AND (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)
        ) ranked
        WHERE position <= ${size + 1}
        ORDER BY category_id, created_at DESC, id DESC`
    : db.$queryRaw<{ id: string }[]>`
        SELECT id FROM (
          SELECT id, category_id, created_at,
                 row_number() OVER (PARTITION BY category_id ORDER BY created_at DESC, id DESC) AS position
          FROM products
          WHERE category_id = ANY(${categoryIds}::uuid[])
        ) ranked
        WHERE position <= ${size + 1}
        ORDER BY category_id, created_at DESC, id DESC`;
}
