import { BadUserInputError } from '@storefront/platform/errors';
import { decodeCursor, keysetQuery, pageSize, type Keyset, type PageArgs } from '@storefront/platform/pagination';
import { isUuid } from './ids.ts';

/**
 * The platform's keyset paging, plus a check the platform cannot make: the
 * cursor's id must be a UUID, or comparing it with the id column would be a
 * database error instead of BAD_USER_INPUT.
 */
export function orderPage(args: PageArgs) {
  assertCursor(args.after);
  return keysetQuery(args);
}

/** Page size and decoded cursor, for queries the loaders build themselves. */
export function orderPageBounds(args: PageArgs): { size: number; after: Keyset | null } {
  return { size: pageSize(args.first), after: assertCursor(args.after) };
}

function assertCursor(after: string | null | undefined): Keyset | null {
  if (!after) return null;
  const cursor = decodeCursor(after);
  if (!isUuid(cursor.id)) throw new BadUserInputError('"after" is not a valid cursor', 'after');
  return cursor;
}
