import { BadUserInputError } from '@storefront/platform/errors';
import { decodeCursor, pageSize, type Keyset, type PageArgs } from '@storefront/platform/pagination';
import { isUuid } from './ids.ts';

/** A validated page request: how many rows, after which (createdAt, id), newest first. */
export interface PageBounds {
  size: number;
  after: Keyset | null;
}

/**
 * The platform's page checks, plus one it cannot make: the cursor's id must be
 * a UUID, or comparing it with the id column would be a database error
 * instead of BAD_USER_INPUT. Checked before loading, so a bad argument fails
 * its own field and not the whole batch of a DataLoader.
 */
export function pageBounds(args: PageArgs): PageBounds {
  const size = pageSize(args.first);
  if (!args.after) return { size, after: null };
  const after = decodeCursor(args.after);
  if (!isUuid(after.id)) throw new BadUserInputError('"after" is not a valid cursor', 'after');
  return { size, after };
}
