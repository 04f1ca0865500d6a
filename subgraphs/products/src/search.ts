import { BadUserInputError } from '@storefront/platform/errors';
import { pageSize, type Connection, type PageArgs } from '@storefront/platform/resolvers';
import type { Context } from './context.ts';
import type { Product } from './data/client.ts';
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

/**
 * Ranked results have no stable keyset (a rank is not unique and not indexed),
 * so their cursors carry the position in the ranking instead.
 */
const OFFSET_CURSOR = /^rank:(\d{1,7})$/;

const encodeOffsetCursor = (offset: number): string => Buffer.from(`rank:${offset}`).toString('base64url');

function decodeOffsetCursor(cursor: string, field = 'after'): number {
  const match = OFFSET_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadUserInputError(`"${field}" is not a valid cursor`, field);
  return Number(match[1]);
}
