import { BadUserInputError } from '@storefront/platform/errors';
import { decodeCursor, keysetQuery, pageSize, type Keyset, type PageArgs } from '@storefront/platform/pagination';
import { isUuid } from './ids.ts';

/**
 * Cursors for the catalog. Keyset cursors carry a product id that ends up in
 * a UUID comparison, so a forged one is refused before it reaches SQL.
 */
export function productKeyset(args: PageArgs) {
  if (args.after) decodeProductCursor(args.after);
  return keysetQuery(args);
}

export function decodeProductCursor(cursor: string, field = 'after'): Keyset {
  const key = decodeCursor(cursor, field);
  if (!isUuid(key.id)) throw new BadUserInputError(`"${field}" is not a valid cursor`, field);
  return key;
}

/**
 * Ranked results have no stable keyset (a rank is not unique and not indexed),
 * so their cursors carry the position in the ranking instead.
 */
const OFFSET_CURSOR = /^rank:(\d{1,7})$/;

export const encodeOffsetCursor = (offset: number): string => Buffer.from(`rank:${offset}`).toString('base64url');

export function decodeOffsetCursor(cursor: string, field = 'after'): number {
  const match = OFFSET_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadUserInputError(`"${field}" is not a valid cursor`, field);
  return Number(match[1]);
}

export { pageSize };
