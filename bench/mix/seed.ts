import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { callSubgraph } from '@storefront/platform/testing';
import type { BenchOptions } from '../options.ts';
import { BENCH_SECRET, subgraphUrl, type Backends } from '../services.ts';
import { type Random, zipf } from './random.ts';

/**
 * The mix's data: a catalog of BENCH_MIX_PRODUCTS products in
 * BENCH_MIX_CATEGORIES categories, BENCH_MIX_CUSTOMERS customers signed up
 * through the users service's real signUp (each with their own access token),
 * and an order history per customer.
 *
 * Catalog and histories go straight into the services' tables in a few
 * batched statements (thousands of orders through the event flow would take
 * many minutes); the customers go through the API, because their tokens must
 * be real ones. What is written is also kept here, as the reference the
 * personal answers are checked against.
 */
export interface MixProduct {
  id: string;
  name: string;
  categoryId: string;
  priceAmount: number;
}

export interface MixOrder {
  id: string;
  customer: number;
  items: { productId: string; quantity: number }[];
}

export interface MixCustomer {
  index: number;
  id: string;
  email: string;
  name: string;
  token: string;
}

export interface MixData {
  categories: { id: string; name: string }[];
  /** By popularity rank: products[0] is the most viewed and ordered. */
  products: MixProduct[];
  /** Words that occur in product names, by popularity rank. */
  searchTerms: string[];
  customers: MixCustomer[];
  orders: Map<string, MixOrder>;
  /** Orders each customer owns, newest first. */
  ordersOf: string[][];
  /** CONFIRMED orders nobody has paid yet: what the mix's payments pay. */
  payable: MixOrder[];
  /** Orders the run placed since they were last looked at: those the saga confirmed join `payable`. */
  placed: MixOrder[];
}

const ADJECTIVES = [
  'copper',
  'walnut',
  'wireless',
  'compact',
  'classic',
  'ceramic',
  'organic',
  'vintage',
  'rugged',
  'linen',
  'smart',
  'folding',
  'insulated',
  'bamboo',
  'leather',
  'cast-iron',
  'stainless',
  'woollen',
  'modular',
  'solar',
];
const NOUNS = [
  'kettle',
  'lamp',
  'headphones',
  'backpack',
  'notebook',
  'skillet',
  'blanket',
  'speaker',
  'teapot',
  'jacket',
  'chair',
  'keyboard',
  'bottle',
  'tent',
  'watch',
  'mug',
  'knife',
  'charger',
  'pillow',
  'camera',
  'desk',
  'scarf',
  'grinder',
  'lantern',
  'planter',
];
const CATEGORY_NAMES = [
  'Kitchen',
  'Audio',
  'Outdoor',
  'Office',
  'Home',
  'Travel',
  'Garden',
  'Fashion',
  'Lighting',
  'Fitness',
  'Tools',
  'Toys',
  'Books',
  'Beauty',
  'Pets',
  'Baby',
  'Music',
  'Games',
  'Health',
  'Crafts',
  'Bath',
  'Storage',
  'Bedding',
  'Tea & Coffee',
  'Cycling',
];

const STATUSES_AFTER_PENDING = ['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED'] as const;
type SeededStatus = (typeof STATUSES_AFTER_PENDING)[number];

async function withClient<T>(backends: Backends, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: backends.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Categories and products in the products service and, as announced products, in the orders service. */
async function seedCatalog(options: BenchOptions, backends: Backends, random: Random) {
  const categories = Array.from({ length: options.BENCH_MIX_CATEGORIES }, (_, i) => ({
    id: randomUUID(),
    name: `Mix ${CATEGORY_NAMES[i % CATEGORY_NAMES.length]}${i >= CATEGORY_NAMES.length ? ` ${Math.floor(i / CATEGORY_NAMES.length) + 1}` : ''}`,
  }));
  const categoryRank = zipf(categories.length, options.BENCH_MIX_ZIPF);
  const base = Date.now() - 3_600_000;
  const products: MixProduct[] = Array.from({ length: options.BENCH_MIX_PRODUCTS }, (_, i) => ({
    id: randomUUID(),
    name: `${ADJECTIVES[i % ADJECTIVES.length]} ${NOUNS[Math.floor(i / ADJECTIVES.length) % NOUNS.length]} ${i + 1}`,
    // Every category has a product; beyond that, popular categories hold more, as in a real shop.
    categoryId: categories[i < categories.length ? i : categoryRank(random)]!.id,
    priceAmount: 199 + Math.floor(random() * 20_000),
  }));
  await withClient(backends, async (client) => {
    await client.query(`INSERT INTO products.categories (id, name) SELECT * FROM unnest($1::uuid[], $2::text[])`, [
      categories.map((c) => c.id),
      categories.map((c) => c.name),
    ]);
    // Stock no run can sell out: `inStock` of a public answer never changes under the bench's feet.
    await client.query(
      `INSERT INTO products.products (id, sku, name, description, price_amount, currency, category_id, stock_level, created_at, updated_at)
       SELECT id, sku, name, description, price, 'USD', category, 100000000, at, at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::uuid[], $7::timestamptz[])
         AS t(id, sku, name, description, price, category, at)`,
      [
        products.map((p) => p.id),
        products.map((_, i) => `MIX-${String(i + 1).padStart(6, '0')}`),
        products.map((p) => p.name),
        products.map((p) => `A ${p.name} for the realistic mix.`),
        products.map((p) => p.priceAmount),
        products.map((p) => p.categoryId),
        products.map((_, i) => new Date(base + i * 1000)),
      ],
    );
    await client.query(
      `INSERT INTO orders.known_products (id, updated_at) SELECT id, now() FROM unnest($1::uuid[]) AS t(id)`,
      [products.map((p) => p.id)],
    );
  });
  const searchTerms = [...NOUNS, ...ADJECTIVES.filter((a) => !a.includes('-'))];
  return { categories, products, searchTerms };
}

/** signUp through the users service itself (signed as the gateway signs), a few at a time: real users, real tokens. */
async function signUpCustomers(options: BenchOptions, count: number): Promise<MixCustomer[]> {
  const url = subgraphUrl(options, 'users');
  const customers = new Array<MixCustomer>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const input = {
        email: `mix-customer-${String(i + 1).padStart(5, '0')}@bench.storefront.local`,
        password: `mix-password-${i + 1}`,
        name: `Mix Customer ${i + 1}`,
      };
      const res = await callSubgraph<{ signUp: { accessToken: string; user: { id: string } } }>(
        url,
        `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
        { input },
        null,
        BENCH_SECRET,
      );
      if (res.status !== 200 || !res.data?.signUp)
        throw new Error(`seeding the mix: signUp of ${input.email} failed: ${JSON.stringify(res).slice(0, 400)}`);
      customers[i] = {
        index: i,
        id: res.data.signUp.user.id,
        email: input.email,
        name: input.name,
        token: res.data.signUp.accessToken,
      };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return customers;
}

/** Every customer's history: BENCH_MIX_ORDERS_PER_CUSTOMER orders, half CONFIRMED, the rest further along. */
async function seedOrders(
  options: BenchOptions,
  backends: Backends,
  random: Random,
  customers: MixCustomer[],
  products: MixProduct[],
) {
  const productRank = zipf(products.length, options.BENCH_MIX_ZIPF);
  const priceOf = new Map(products.map((p) => [p.id, p.priceAmount]));
  const orders = new Map<string, MixOrder>();
  const ordersOf: string[][] = customers.map(() => []);
  const payable: MixOrder[] = [];
  const rows = {
    orders: [] as [string, string, SeededStatus, number, string, Date, number][],
    items: [] as [string, string, number, string, number, number][],
    history: [] as [string, number, string, Date][],
  };
  const now = Date.now();
  for (const customer of customers) {
    for (let k = 0; k < options.BENCH_MIX_ORDERS_PER_CUSTOMER; k += 1) {
      const id = randomUUID();
      // Newest first in ordersOf: k = 0 is the newest.
      const createdAt = new Date(now - (k + 1) * 86_400_000 - Math.floor(random() * 3_600_000));
      const status: SeededStatus = k % 2 === 0 ? 'CONFIRMED' : STATUSES_AFTER_PENDING[1 + (k % 3)]!;
      const lines = 1 + Math.floor(random() * 4);
      const chosen = new Map<string, number>();
      while (chosen.size < Math.min(lines, products.length))
        chosen.set(products[productRank(random)]!.id, 1 + Math.floor(random() * 3));
      const items = [...chosen].map(([productId, quantity]) => ({ productId, quantity }));
      let total = 0;
      items.forEach((item, position) => {
        const price = priceOf.get(item.productId)!;
        total += price * item.quantity;
        rows.items.push([randomUUID(), id, position, item.productId, item.quantity, price]);
      });
      const version = 2 + STATUSES_AFTER_PENDING.indexOf(status);
      ['PENDING', ...STATUSES_AFTER_PENDING.slice(0, version - 1)].forEach((s, i) =>
        rows.history.push([id, i + 1, s, new Date(createdAt.getTime() + i * 60_000)]),
      );
      rows.orders.push([id, customer.id, status, total, randomUUID(), createdAt, version]);
      const order = { id, customer: customer.index, items };
      orders.set(id, order);
      ordersOf[customer.index]!.push(id);
      if (status === 'CONFIRMED') payable.push(order);
    }
  }
  const col = <T, K extends keyof T>(list: T[], k: K) => list.map((row) => row[k]);
  await withClient(backends, async (client) => {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO orders.orders (id, user_id, status, total_amount, currency, shipping_address, idempotency_key, request_hash, version, created_at, updated_at)
       SELECT id, user_id, status, total, 'USD', $8::jsonb, key, md5(key), version, at, at
       FROM unnest($1::uuid[], $2::uuid[], $3::orders."OrderStatus"[], $4::int[], $5::text[], $6::timestamptz[], $7::int[])
         AS t(id, user_id, status, total, key, at, version)`,
      [
        ...[0, 1, 2, 3, 4, 5, 6].map((k) => col(rows.orders, k as 0)),
        JSON.stringify({ line1: '1 Mix Street', line2: null, city: 'Berlin', postalCode: '10115', country: 'DE' }),
      ],
    );
    await client.query(
      `INSERT INTO orders.order_items (id, order_id, position, product_id, quantity, unit_price)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::int[], $6::int[])`,
      [0, 1, 2, 3, 4, 5].map((k) => col(rows.items, k as 0)),
    );
    await client.query(
      `INSERT INTO orders.order_status_changes (order_id, sequence, status, at)
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::orders."OrderStatus"[], $4::timestamptz[])`,
      [0, 1, 2, 3].map((k) => col(rows.history, k as 0)),
    );
    await client.query('COMMIT');
  });
  // Payments take from the end: shuffle so they spread over customers.
  for (let i = payable.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [payable[i], payable[j]] = [payable[j]!, payable[i]!];
  }
  return { orders, ordersOf, payable };
}

export async function seedMix(options: BenchOptions, backends: Backends, random: Random): Promise<MixData> {
  const catalog = await seedCatalog(options, backends, random);
  const customers = await signUpCustomers(options, options.BENCH_MIX_CUSTOMERS);
  const history = await seedOrders(options, backends, random, customers, catalog.products);
  return { ...catalog, customers, ...history, placed: [] };
}

/** Which of these orders the saga has CONFIRMED (and nobody has paid or cancelled since). */
export async function confirmedOrders(backends: Backends, orders: MixOrder[]): Promise<MixOrder[]> {
  if (orders.length === 0) return [];
  const confirmed = await withClient(backends, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "SELECT id::text FROM orders.orders WHERE id = ANY($1::uuid[]) AND status = 'CONFIRMED'",
      [orders.map((order) => order.id)],
    );
    return new Set(rows.map((row) => row.id));
  });
  return orders.filter((order) => confirmed.has(order.id));
}

/** Who placed each of these orders, from the orders table (for answers the run could not check against its own ledger). */
export async function orderOwners(backends: Backends, ids: string[]): Promise<Map<string, string>> {
  return withClient(backends, async (client) => {
    const { rows } = await client.query<{ id: string; user_id: string }>(
      'SELECT id::text, user_id::text FROM orders.orders WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row.user_id]));
  });
}
