import { BadUserInputError } from '../errors/index.ts';
import { isUuid } from './ids.ts';

/**
 * Relay-style cursor pagination over a (createdAt, id) keyset, newest first.
 * Keyset, not offset: a page stays correct while rows are inserted, and the
 * database walks an index instead of skipping rows.
 */
export interface Keyset {
  createdAt: Date;
  id: string;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** A validated page request: how many rows, after which (createdAt, id), newest first. */
export interface PageBounds {
  size: number;
  after: Keyset | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 200;

export function encodeCursor(key: Keyset): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString('base64url');
}

/**
 * Cursors come back from clients, so they are checked like any input. Every
 * keyset here is (createdAt, uuid id): a cursor whose id is not a UUID was
 * forged, and comparing it with an id column would be a database error
 * instead of BAD_USER_INPUT.
 */
export function decodeCursor(cursor: string, field = 'after'): Keyset {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      isUuid(value[1])
    ) {
      const createdAt = new Date(value[0]);
      if (!Number.isNaN(createdAt.getTime())) return { createdAt, id: value[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new BadUserInputError(`"${field}" is not a valid cursor`, field);
}

export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`"${field}" must be between 1 and ${MAX_PAGE_SIZE}`, field);
  }
  return first;
}

/**
 * Page size and decoded cursor, for queries that build their own keyset
 * condition (window queries behind DataLoaders). Checked before loading, so a
 * bad argument fails its own field and not the whole batch of a loader.
 */
export function pageBounds(args: PageArgs): PageBounds {
  const size = pageSize(args.first);
  return { size, after: args.after ? decodeCursor(args.after) : null };
}

/**
 * The Prisma `where` fragment for rows after the cursor in newest-first order,
 * and the `take` that fetches one extra row to learn whether a next page exists.
 */
export function keysetQuery(args: PageArgs) {
  const { size, after } = pageBounds(args);
  return {
    take: size + 1,
    orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
    where: after
      ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
      : {},
    size,
  };
}

export function toConnection<T extends Keyset>(rows: T[], size: number): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}
