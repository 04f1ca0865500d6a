import { randomUUID } from 'node:crypto';
import { QUERIES } from '../queries.ts';
import type { BenchOptions } from '../options.ts';
import { type Random, weighted, zipf } from './random.ts';
import type { MixData, MixOrder } from './seed.ts';

/**
 * The operations of the mix, what each sends, and how each answer is checked
 * before it counts. Public answers must equal the reference taken before the
 * run; personal answers must be the asking customer's own (never another
 * customer's) and agree with what was seeded or placed.
 */
export type OperationKind =
  'home' | 'category' | 'search' | 'product' | 'history' | 'order' | 'profile' | 'placeOrder' | 'payOrder';

/** Shares of the reads (they fill what placeOrder and payOrder leave). */
export const READ_WEIGHTS: Record<Exclude<OperationKind, 'placeOrder' | 'payOrder'>, number> = {
  home: 10,
  category: 25,
  search: 12,
  product: 25,
  history: 12,
  order: 8,
  profile: 8,
};

export const OPERATION_QUERIES: Record<OperationKind, string> = {
  home: QUERIES.a.query,
  category: `query CategoryPage($categoryId: ID!) {
  products(first: 20, categoryId: $categoryId) { edges { node { id name price { amount currency } inStock } } pageInfo { hasNextPage endCursor } }
}`,
  search: `query Search($q: String!) {
  searchProducts(query: $q, first: 10) { edges { node { id name price { amount currency } category { name } } } }
}`,
  product: `query ProductPage($id: ID!) {
  product(id: $id) { id sku name description price { amount currency } inStock category { id name } }
}`,
  history: `query OrderHistory {
  me { id name orders(first: 10) { edges { node {
    id status createdAt total { amount currency }
    items { quantity product { id name price { amount currency } } }
    user { id }
  } } } }
}`,
  order: `query OrderPage($id: ID!) {
  order(id: $id) { id status total { amount currency } items { quantity unitPrice { amount } product { id name } } statusHistory { status sequence } user { id name } }
}`,
  profile: `query Profile { me { id name email emailNotifications } }`,
  placeOrder: `mutation PlaceOrder($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) { id status }
}`,
  payOrder: `mutation PayOrder($id: ID!) { payOrder(id: $id) { id status } }`,
};

export const PUBLIC_KINDS = ['home', 'category', 'search', 'product'] as const;
export type PublicKind = (typeof PUBLIC_KINDS)[number];

export interface MixRequest {
  kind: OperationKind;
  customer: number;
  body: string;
  /** Public requests: which reference answer the answer must equal. */
  referenceKey?: string;
  /** order page: the order asked for. */
  orderId?: string;
  /** payOrder: the order paid (and whether a subscription waits for its event). */
  paid?: MixOrder;
  /** placeOrder: what was ordered, to remember once the id comes back. */
  placed?: MixOrder['items'];
}

const body = (kind: OperationKind, variables: Record<string, unknown> = {}) =>
  JSON.stringify({ query: OPERATION_QUERIES[kind], variables });

/** Every public request the mix can send, each once: the reference is taken of these. */
export function publicRequests(data: MixData): { key: string; kind: PublicKind; body: string }[] {
  return [
    { key: 'home', kind: 'home', body: body('home') },
    ...data.categories.map((c) => ({
      key: `category:${c.id}`,
      kind: 'category' as const,
      body: body('category', { categoryId: c.id }),
    })),
    ...data.searchTerms.map((q) => ({ key: `search:${q}`, kind: 'search' as const, body: body('search', { q }) })),
    ...data.products.map((p) => ({
      key: `product:${p.id}`,
      kind: 'product' as const,
      body: body('product', { id: p.id }),
    })),
  ];
}

/** Which orders can be paid: those watched by an open subscription first (their events are counted). */
export interface PaymentPool {
  watched: MixOrder[];
  payable: MixOrder[];
}

export function createPicker(options: BenchOptions, data: MixData, random: Random) {
  const place = options.BENCH_MIX_PLACE_ORDER_PERCENT;
  const pay = options.BENCH_MIX_PAY_PERCENT;
  const readShare = 100 - place - pay;
  const readTotal = Object.values(READ_WEIGHTS).reduce((a, b) => a + b, 0);
  const pick = weighted<OperationKind>([
    ...Object.entries(READ_WEIGHTS).map(([k, w]) => [k as OperationKind, (w / readTotal) * readShare] as const),
    ['placeOrder', place],
    ['payOrder', pay],
  ]);
  const productRank = zipf(data.products.length, options.BENCH_MIX_ZIPF);
  const categoryRank = zipf(data.categories.length, options.BENCH_MIX_ZIPF);
  const termRank = zipf(data.searchTerms.length, options.BENCH_MIX_ZIPF);
  let skippedPayments = 0;

  const next = (payments: PaymentPool): MixRequest => {
    let kind = pick(random);
    const customer = Math.floor(random() * data.customers.length);
    let paid: MixOrder | undefined;
    if (kind === 'payOrder') {
      paid = payments.watched.pop() ?? payments.payable.pop();
      if (!paid) {
        // Nothing left to pay: an order instead (counted, so the report says so).
        skippedPayments += 1;
        kind = 'placeOrder';
      }
    }
    switch (kind) {
      case 'home':
        return { kind, customer, body: body(kind), referenceKey: 'home' };
      case 'category': {
        const id = data.categories[categoryRank(random)]!.id;
        return { kind, customer, body: body(kind, { categoryId: id }), referenceKey: `category:${id}` };
      }
      case 'search': {
        const q = data.searchTerms[termRank(random)]!;
        return { kind, customer, body: body(kind, { q }), referenceKey: `search:${q}` };
      }
      case 'product': {
        const id = data.products[productRank(random)]!.id;
        return { kind, customer, body: body(kind, { id }), referenceKey: `product:${id}` };
      }
      case 'history':
      case 'profile':
        return { kind, customer, body: body(kind) };
      case 'order': {
        const own = data.ordersOf[customer]!;
        // Recent orders are looked at more often than old ones.
        const id = own[Math.min(own.length - 1, Math.floor(own.length * random() ** 2))]!;
        return { kind, customer, body: body(kind, { id }), orderId: id };
      }
      case 'placeOrder': {
        const lines = new Map<string, number>();
        const count = 1 + Math.floor(random() * 3);
        while (lines.size < Math.min(count, data.products.length)) lines.set(data.products[productRank(random)]!.id, 1);
        const items = [...lines].map(([productId, quantity]) => ({ productId, quantity }));
        const input = {
          items,
          shippingAddress: { line1: '1 Mix Street', city: 'Berlin', postalCode: '10115', country: 'DE' },
        };
        return { kind, customer, body: body(kind, { input, key: randomUUID() }), placed: items };
      }
      case 'payOrder':
        return { kind, customer: paid!.customer, body: body(kind, { id: paid!.id }), paid: paid! };
    }
  };
  return { next, skippedPayments: () => skippedPayments };
}
