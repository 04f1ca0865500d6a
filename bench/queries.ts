import { isDeepStrictEqual } from 'node:util';
import type { QueryId } from './options.ts';
import { GATEWAY_LABELS, postGraphQL, type RunningGatewayProcess } from './gateways.ts';

/**
 * The query mix. Each stays inside our gateway's operation limits (depth ≤ 10,
 * cost ≤ 25,000), so our gateway answers it with every protection on.
 */
export interface BenchQuery {
  id: QueryId;
  title: string;
  subgraphs: string;
  query: string;
  /** Variables it needs from the seeded data (ids differ per run): found by `prepareVariables` before the first request. */
  needs?: 'productId';
  variables?: Record<string, unknown>;
}

export const QUERIES: Record<QueryId, BenchQuery> = {
  a: {
    id: 'a',
    title: 'public catalog page (categories + first 20 products with price and category)',
    subgraphs: 'products',
    query: `query CatalogPage {
  categories { id name }
  products(first: 20) { edges { node { id name price { amount currency } category { id name } inStock } } pageInfo { hasNextPage endCursor } }
}`,
  },
  b: {
    id: 'b',
    title: "the customer's order history with items, products and user",
    subgraphs: 'users → orders → products, users',
    query: `query OrderHistory {
  me {
    name
    orders(first: 10) {
      edges { node {
        id status createdAt
        total { amount currency }
        items { quantity product { name price { amount currency } } }
        user { name email }
      } }
    }
  }
}`,
  },
  c: {
    id: 'c',
    title: 'deep nested: orders → user → notifications and orders, items → product → category (depth 10)',
    subgraphs: 'users → orders → users, notifications, orders, products',
    query: `query DeepHistory {
  me {
    name
    orders(first: 10) {
      edges { node {
        id status
        user {
          name
          notifications(first: 3) { edges { node { subject } } }
          orders(first: 3) { edges { node { id total { amount } } } }
        }
        items { quantity unitPrice { amount } product { name category { name } } }
      } }
    }
  }
}`,
  },
  d: {
    id: 'd',
    title: 'a product page (one product by id with price, category, stock, and four more of its category)',
    subgraphs: 'products',
    needs: 'productId',
    query: `query ProductPage($id: ID!) {
  product(id: $id) {
    id sku name description inStock createdAt
    price { amount currency }
    category { id name products(first: 4) { edges { node { id name price { amount currency } inStock } } } }
  }
}`,
  },
  w: {
    id: 'w',
    title:
      'a wide answer: the first 100 products, and the customer with 50 notifications and every order with its items',
    subgraphs: 'products; users → notifications, orders → products, users',
    query: `query WidePage {
  products(first: 100) { edges { node { id name price { amount currency } category { id name } inStock } } }
  me {
    name
    notifications(first: 50) { edges { node { id subject createdAt user { name } } } }
    orders(first: 50) {
      edges { node {
        id status createdAt
        total { amount currency }
        items { quantity unitPrice { amount } product { id name price { amount currency } category { name } } }
        user { name email }
      } }
    }
  }
}`,
  },
};

/** Fills in the variables of the queries that need some, from the seeded catalog (the first product of the catalog page). */
export async function prepareVariables(queries: BenchQuery[], url: string, token: string): Promise<void> {
  if (!queries.some((q) => q.needs === 'productId')) return;
  const res = await postGraphQL(url, '{ products(first: 1) { edges { node { id } } } }', {}, token);
  const id = (res.json?.data as { products?: { edges: { node: { id: string } }[] } } | undefined)?.products?.edges[0]
    ?.node.id;
  if (!id) throw new Error(`no product to show on the product page: ${res.text.slice(0, 300)}`);
  for (const query of queries) if (query.needs === 'productId') query.variables = { id };
}

const variablesOf = (query: BenchQuery): Record<string, unknown> => {
  if (query.needs && !query.variables)
    throw new Error(`query (${query.id}) needs a ${query.needs} from the seeded data: call prepareVariables first`);
  return query.variables ?? {};
};

/** The exact request body every gateway gets (same bytes, so parsing costs the same), as postGraphQL sends it. */
export const requestBody = (query: BenchQuery): string =>
  JSON.stringify({ query: query.query, variables: variablesOf(query) });

/**
 * Asks each gateway once and checks that all return the same data, errors-free
 * (key order aside). Returns each gateway's response text (by its `name`,
 * else its id), which the load generator then expects of every response (a
 * differing body is counted).
 */
export async function verifySameData(
  query: BenchQuery,
  gateways: (RunningGatewayProcess & { name?: string })[],
  token: string,
): Promise<Map<string, string>> {
  const bodies = new Map<string, string>();
  let reference: { id: string; data: unknown } | undefined;
  for (const gateway of gateways) {
    const res = await postGraphQL(gateway.url, query.query, variablesOf(query), token);
    const label = `query (${query.id}) on ${gateway.name ?? GATEWAY_LABELS[gateway.id]}`;
    if (res.status !== 200 || !res.json || res.json.errors?.length || res.json.data == null) {
      throw new Error(`${label}: expected data without errors, got HTTP ${res.status}: ${res.text.slice(0, 800)}`);
    }
    if (!hasContent(res.json.data))
      throw new Error(`${label}: the answer is empty (${res.text.slice(0, 300)}); is the bench data seeded?`);
    const key = gateway.name ?? gateway.id;
    if (!reference) reference = { id: key, data: res.json.data };
    else if (!isDeepStrictEqual(sortKeys(res.json.data), sortKeys(reference.data))) {
      throw new Error(
        `${label} returns other data than ${GATEWAY_LABELS[reference.id as keyof typeof GATEWAY_LABELS] ?? reference.id}; the bench would compare different work.\n` +
          `  ${reference.id}: ${JSON.stringify(sortKeys(reference.data)).slice(0, 600)}\n  ${key}: ${JSON.stringify(sortKeys(res.json.data)).slice(0, 600)}`,
      );
    }
    bodies.set(key, res.text);
  }
  return bodies;
}

/** Every list in the answer non-empty and no null where an object was asked for: the seed really is there. */
function hasContent(value: unknown): boolean {
  if (value === null) return false;
  if (Array.isArray(value)) return value.length > 0 && value.every(hasContent);
  if (typeof value === 'object') return Object.values(value).every((v) => typeof v !== 'object' || hasContent(v));
  return true;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
