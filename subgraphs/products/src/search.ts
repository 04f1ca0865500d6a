import type { Connection, PageArgs } from '@storefront/platform/pagination';
import type { Context } from './context.ts';
import type { Product } from './data/client.ts';
import { decodeOffsetCursor, encodeOffsetCursor, pageSize } from './data/pages.ts';
import { validSearchQuery } from './validation.ts';

/**
 * Ranked full-text search over the generated `search` column (name and SKU
 * weigh more than the description; see the products migration). The same SQL
 * runs on PostgreSQL and PGlite. A query of stop words only matches nothing.
 */
export async function searchProducts(ctx: Context, query: string, args: PageArgs): Promise<Connection<Product>> {
  const text = validSearchQuery(query);
  const size = pageSize(args.first);
  const offset = args.after ? decodeOffsetCursor(args.after) + 1 : 0;
  const hits = await ctx.runtime.db.$queryRaw<{ id: string }[]>`
    SELECT p.id
    FROM products p, websearch_to_tsquery('english', ${text}) AS q
    WHERE p.search @@ q
    ORDER BY ts_rank_cd(p.search, q) DESC, p.id
    LIMIT ${size + 1}::int OFFSET ${offset}::int`;
  const products = await ctx.loaders.productById.loadMany(hits.slice(0, size).map((hit) => hit.id));
  const edges = products.flatMap((product, index) =>
    product && !(product instanceof Error) ? [{ cursor: encodeOffsetCursor(offset + index), node: product }] : [],
  );
  return { edges, pageInfo: { hasNextPage: hits.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}
