import { DEFAULT_PAGE_SIZE } from '@storefront/platform/resolvers';
import { z } from 'zod';

/**
 * Operation limits, read from the gateway's environment (spread into
 * `gatewayConfigSchema`). Each default is chosen so every operation our own
 * clients send passes with room to spare while the known attack shapes don't;
 * the reasoning for each number sits next to it.
 */
const limit = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .default(fallback);

export const operationLimitsEnv = {
  /**
   * Nesting of fields. A Relay connection spends three levels per hop
   * (`orders { edges { node`), so a customer's order history with product
   * names, `me { orders { edges { node { items { product { name } } } } } }`,
   * is already 7; 10 leaves room for one more object hop, not for a second
   * connection hop, which is where recursion (user → orders → user …) starts.
   */
  LIMIT_MAX_DEPTH: limit(10).describe('Deepest nesting of fields an operation may have.'),
  LIMIT_MAX_ALIASES: limit(15).describe(
    'Aliases per operation (after expanding fragments): the same field asked for many times.',
  ),
  LIMIT_MAX_DIRECTIVES: limit(50).describe(
    'Directives per operation (after expanding fragments); bounds directive-bomb validation work.',
  ),
  /**
   * Lexical tokens per document, checked while parsing so an oversized
   * document is abandoned early. Our largest client operation is well under
   * 100 tokens; the standard introspection query is about 160.
   */
  LIMIT_MAX_TOKENS: limit(1000).describe('Lexical tokens per document, counted while parsing.'),
  LIMIT_MAX_ROOT_FIELDS: limit(10).describe(
    'Distinct root fields (response keys) per operation: each may fan out to a subgraph.',
  ),
  /**
   * Cost = objects the operation may return (see limits/cost.ts): each
   * object counts 1, lists multiply by their page size. The richest page our
   * staff screens can ask for, `orders(first: 200)` with each order's user,
   * total, address, status history and items with prices and products, costs
   * about 21,000; a page of 200 nested in another page of 200 is over 80,000.
   */
  LIMIT_MAX_COST: limit(25_000).describe(
    'Objects an operation may return: each object counts 1, lists multiply by their page size (`first`).',
  ),
  LIMIT_DEFAULT_LIST_SIZE: limit(DEFAULT_PAGE_SIZE).describe(
    "Page size the cost assumes for a list or connection without `first`: the subgraphs' default.",
  ),
};

export type OperationLimitsConfig = { [K in keyof typeof operationLimitsEnv]: number };
