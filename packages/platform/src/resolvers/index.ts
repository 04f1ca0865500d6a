/** Building blocks of a subgraph's resolvers: ids, keyset pagination, scalars. */
export { isUuid, normaliseId, parseId } from './ids.ts';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  keysetQuery,
  pageBounds,
  pageSize,
  toConnection,
  type Connection,
  type Keyset,
  type PageArgs,
  type PageBounds,
} from './pagination.ts';
export { DateTimeScalar } from './scalars.ts';
