import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@storefront/platform/logger';
import { RedisStore } from '@storefront/platform/store';
import { captureLogs, eventually, type GraphQLResult } from '@storefront/platform/testing';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The response cache for public data: the catalog is answered from the cache
 * (in process, and through Redis from another instance), never one user's or
 * one role's answer to another, and a price or stock change shows within 1 s.
 */
const CATALOG = `query Catalog($id: ID!) {
  product(id: $id) { id name price { amount currency } inStock }
  products(first: 20) { edges { node { id price { amount } } } }
  categories { id name }
}`;
const INVALIDATION_DEADLINE_MS = 1_000;
const sharedStoreAndBus = Boolean(process.env.REDIS_URL && process.env.KAFKA_BROKERS);

describe('response cache', { timeout: 300_000 }, () => {
  let stack: Stack;
  let admin: string;
  let categoryId: string;

  const productFetches = (gateway: RunningGateway = stack.gateway) => gateway.subgraphFetches().products ?? 0;
  const createProduct = async (name: string, amount: number, stockLevel: number) => {
    const res = await stack.query(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      {
        input: {
          sku: `SKU-${randomUUID().slice(0, 8)}`,
          name,
          price: { amount, currency: 'USD' },
          categoryId,
          stockLevel,
        },
      },
      admin,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!.createProduct.id as string;
  };
  const staff = async (mutation: string, variables: Record<string, unknown>) => {
    const res = await stack.query(mutation, variables, admin);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  };
  const setPrice = (id: string, amount: number) =>
    staff(
      `mutation($id: ID!, $amount: Int!) { updateProduct(id: $id, input: { price: { amount: $amount, currency: "USD" } }) { id } }`,
      { id, amount },
    );
  const adjustStock = (id: string, delta: number) =>
    staff(`mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id } }`, { id, delta });

  /** POSTs to any gateway (the stack's `query` only knows the first). */
  const ask = async (gateway: RunningGateway, query: string, variables: Record<string, unknown>, token?: string) => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, ...((await res.json()) as object) } as GraphQLResult<Record<string, any>>;
  };

  /** Asks until `check` holds; fails when it has not within the deadline, counted from the change. */
  const visibleWithinDeadline = async (
    what: string,
    since: number,
    query: () => Promise<GraphQLResult<Record<string, any>>>,
    check: (data: Record<string, any>) => boolean,
  ) => {
    for (;;) {
      const res = await query();
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const elapsed = Date.now() - since;
      if (check(res.data!)) return elapsed;
      assert.ok(elapsed <= INVALIDATION_DEADLINE_MS, `${what}: still stale ${elapsed} ms after the change`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  /**
   * Asks until an answer comes from the cache: the same data, without a products fetch. Not at the
   * second ask necessarily: the event of a change made just before (createProduct, say) may arrive
   * after the first answer was cached, and rightly make it unreachable.
   */
  const warm = async (gateway: RunningGateway, variables: Record<string, unknown>, query = CATALOG) => {
    let previous = await ask(gateway, query, variables);
    assert.equal(previous.errors, undefined, JSON.stringify(previous.errors));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const fetchesBefore = productFetches(gateway);
      const next = await ask(gateway, query, variables);
      assert.equal(next.errors, undefined, JSON.stringify(next.errors));
      if (productFetches(gateway) === fetchesBefore) {
        assert.deepEqual(next.data, previous.data);
        return next.data!;
      }
      assert.ok(
        Date.now() < deadline,
        'a repeated catalog query kept reaching the products subgraph: never answered from the cache',
      );
      previous = next;
    }
  };

  before(async () => {
    stack = await startStack({ gatewayEnv: { RESPONSE_CACHE: 'true' } });
    admin = await stack.logInAdmin();
    categoryId = (
      await stack.query(`mutation { createCategory(name: "Cache ${randomUUID().slice(0, 6)}") { id } }`, {}, admin)
    ).data!.createCategory.id;
  });
  after(() => stack?.stop());

  it('answers a repeated public catalog query from the cache, without calling the products subgraph', async () => {
    const id = await createProduct('Cached Lamp', 1999, 4);
    const statsBefore = stack.gateway.responseCacheStats();
    const data = await warm(stack.gateway, { id });
    assert.equal(data.product.name, 'Cached Lamp');
    // Other variables are another entry.
    const other = await createProduct('Other Lamp', 2999, 1);
    const fetchesBefore = productFetches();
    const res = await stack.query(CATALOG, { id: other });
    assert.equal(res.data!.product.name, 'Other Lamp');
    assert.ok(productFetches() > fetchesBefore, 'another product id must not be answered from the first entry');
    const stats = stack.gateway.responseCacheStats();
    assert.ok(stats.hits > statsBefore.hits && stats.stores > statsBefore.stores, JSON.stringify(stats));
  });

  it('never gives one user’s or one role’s answer to another', async () => {
    const id = await createProduct('Private Lamp', 1500, 7);
    const [ann, bob] = await Promise.all([stack.signUp('Ann'), stack.signUp('Bob')]);
    const MINE = `query Mine($id: ID!) { me { id email } product(id: $id) { name price { amount } } }`;
    const STOCK = `query Stock($id: ID!) { product(id: $id) { name stockLevel } }`;
    // Several rounds, so a cache keyed too loosely would have been warm for the next caller.
    for (let round = 0; round < 3; round++) {
      for (const user of [ann, bob]) {
        const res = await stack.query(MINE, { id }, user.token);
        assert.equal(res.errors, undefined, JSON.stringify(res.errors));
        assert.deepEqual(res.data!.me, { id: user.userId, email: user.email });
        assert.equal(res.data!.product.name, 'Private Lamp');
      }
      const asStaff = await stack.query(STOCK, { id }, admin);
      assert.equal(asStaff.errors, undefined, JSON.stringify(asStaff.errors));
      assert.equal(asStaff.data!.product.stockLevel, 7);
      for (const [token, code] of [
        [undefined, 'UNAUTHENTICATED'],
        [ann.token, 'FORBIDDEN'],
      ] as const) {
        const res = await stack.query(STOCK, { id }, token);
        assert.deepEqual(
          res.data!.product,
          { name: 'Private Lamp', stockLevel: null },
          `round ${round}: ${token ? 'a customer' : 'anonymous'} saw staff data`,
        );
        assert.deepEqual(
          res.errors?.map((e) => e.extensions?.code),
          [code],
        );
      }
    }
    // Staff-only stock levels are never cached: staff see a change at once.
    await adjustStock(id, 2);
    const after = await stack.query(STOCK, { id }, admin);
    assert.equal(after.data!.product.stockLevel, 9);
  });

  it('shows a new price and a stock change within 1 s of the update, through a warm cache', async () => {
    const id = await createProduct('Invalidated Lamp', 1000, 2);
    await warm(stack.gateway, { id });

    const priceChanged = Date.now();
    await setPrice(id, 1250);
    const priceMs = await visibleWithinDeadline(
      'new price',
      priceChanged,
      () => stack.query(CATALOG, { id }),
      (data) =>
        data.product.price.amount === 1250 &&
        data.products.edges.some((e: any) => e.node.id === id && e.node.price.amount === 1250),
    );

    await warm(stack.gateway, { id });
    const soldOut = Date.now();
    await adjustStock(id, -2);
    const stockMs = await visibleWithinDeadline(
      'sold out',
      soldOut,
      () => stack.query(CATALOG, { id }),
      (data) => data.product.inStock === false,
    );

    await warm(stack.gateway, { id });
    const restocked = Date.now();
    await adjustStock(id, 3);
    await visibleWithinDeadline(
      'back in stock',
      restocked,
      () => stack.query(CATALOG, { id }),
      (data) => data.product.inStock === true,
    );
    // Cached again after the change.
    await warm(stack.gateway, { id });
    process.stdout.write(`# price visible after ${priceMs} ms, stock after ${stockMs} ms\n`);
  });

  it('keeps the catalog cached through orders that leave stock, and shows a sell-out by an order within 1 s', async () => {
    const id = await createProduct('Popular Lamp', 1500, 3);
    const customer = await stack.signUp('Shopper');
    const PLACE = `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`;
    const ORDER = `query($id: ID!) { order(id: $id) { status } }`;
    const STOCK_LEVEL = `query($id: ID!) { product(id: $id) { stockLevel } }`;
    const placeOrder = async (quantity: number) =>
      (
        await eventually(
          async () =>
            (
              await stack.query(
                PLACE,
                { input: { items: [{ productId: id, quantity }] }, key: randomUUID() },
                customer.token,
              )
            ).data?.placeOrder,
          30_000,
          'placeOrder to accept the new product',
        )
      ).id as string;
    const confirmed = (orderId: string) =>
      eventually(
        async () => (await stack.query(ORDER, { id: orderId }, customer.token)).data?.order?.status === 'CONFIRMED',
        30_000,
        'the order to be confirmed',
      );
    /** Staff read the live stock level (never cached); resolves at the moment it reaches `level`. */
    const stockReaches = (level: number) =>
      eventually(
        async () => (await stack.query(STOCK_LEVEL, { id }, admin)).data?.product?.stockLevel === level,
        30_000,
        `stock level ${level}`,
      );

    await warm(stack.gateway, { id });
    await confirmed(await placeOrder(1)); // 3 → 2: still in stock
    // The reservation's events have had time to reach the gateway; the catalog shows nothing new, so the entry stands.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const fetchesBefore = productFetches();
    const stillCached = await stack.query(CATALOG, { id });
    assert.equal(stillCached.data!.product.inStock, true);
    assert.equal(productFetches(), fetchesBefore, 'an order that left stock dropped the cached catalog');

    await placeOrder(2); // 2 → 0: sold out
    await stockReaches(0);
    const soldOut = Date.now();
    const ms = await visibleWithinDeadline(
      'sold out by an order',
      soldOut,
      () => stack.query(CATALOG, { id }),
      (data) => data.product.inStock === false,
    );
    process.stdout.write(`# sell-out by an order visible after ${ms} ms\n`);
  });

  it('shows a new category within 1 s, through a warm cache', async () => {
    const CATEGORIES = `query Categories { categories { id name } }`;
    await warm(stack.gateway, {}, CATEGORIES);
    const name = `Fresh ${randomUUID().slice(0, 6)}`;
    const created = Date.now();
    await staff(`mutation($name: String!) { createCategory(name: $name) { id } }`, { name });
    await visibleWithinDeadline(
      'new category',
      created,
      () => stack.query(CATEGORIES, {}),
      (data) => data.categories.some((c: { name: string }) => c.name === name),
    );
  });

  it(
    'shares entries between two gateway instances over Redis, and both see an update within 1 s',
    { skip: sharedStoreAndBus ? false : 'needs REDIS_URL and KAFKA_BROKERS' },
    async () => {
      const id = await createProduct('Shared Lamp', 3000, 5);
      const second = await stack.startGateway(
        { RESPONSE_CACHE: 'true' },
        { logger: createLogger({ name: 'test', level: 'warn' }) },
      );
      const redis = new RedisStore({ url: process.env.REDIS_URL! });
      try {
        const entries = async () => (await redis.client.keys(`${stack.env.REDIS_KEY_PREFIX}response:*`)).length;
        const gateways = [stack.gateway, second];
        for (const gateway of gateways) await warm(gateway, { id });

        // A change reaches both instances, each through its own consumer.
        const changed = Date.now();
        await setPrice(id, 3333);
        for (const gateway of gateways) {
          await visibleWithinDeadline(
            `new price on ${gateway.url}`,
            changed,
            () => ask(gateway, CATALOG, { id }),
            (data) => data.product.price.amount === 3333,
          );
        }

        // An answer the first instance caches serves the second: the same generation, the same Redis entry.
        const entriesBefore = await entries();
        // Another operation (its own entry), asked of the first instance only.
        const CATALOG_AGAIN = CATALOG.replace('query Catalog(', 'query CatalogAgain(');
        const first = await ask(stack.gateway, CATALOG_AGAIN, { id });
        assert.equal(first.data!.product.price.amount, 3333);
        await eventually(async () => (await entries()) > entriesBefore, 5_000, 'the entry to reach Redis');
        const fetchesBefore = productFetches(second);
        const fromSecond = await ask(second, CATALOG_AGAIN, { id });
        assert.deepEqual(fromSecond.data, first.data);
        assert.equal(productFetches(second), fetchesBefore, 'the second instance did not use the first one’s entry');
      } finally {
        await redis.close();
        await second.stop();
      }
    },
  );

  it('refuses bad settings with a message naming the key, and stays off without an event bus', async () => {
    for (const [key, value] of [
      ['RESPONSE_CACHE_MEMORY_MB', '-1'],
      ['RESPONSE_CACHE_MAX_AGE_SECONDS', '0'],
      ['RESPONSE_CACHE', 'sometimes'],
    ] as const) {
      assert.throws(
        () => loadGatewayConfig({ [key]: value }),
        (error: Error) => error.message.includes(key),
        `${key}=${value}`,
      );
    }

    const logs = captureLogs('warn');
    // Not stack.startGateway: the embedded stack would hand it its in-process bus.
    const busless = await startGateway(
      {
        ...loadGatewayConfig({ ...stack.env, KAFKA_BROKERS: '', GATEWAY_PORT: '0', RESPONSE_CACHE: 'true' }),
        subgraphUrls: Object.fromEntries(Object.values(stack.services).map((s) => [s.name, s.url])),
      },
      { logger: logs.logger },
    );
    try {
      assert.equal(logs.find(/response cache is off/).length, 1, JSON.stringify(logs.records.map((r) => r.msg)));
      const id = await createProduct('Uncached Lamp', 500, 1);
      await ask(busless, CATALOG, { id });
      const fetchesBefore = productFetches(busless);
      await ask(busless, CATALOG, { id });
      assert.ok(productFetches(busless) > fetchesBefore, 'without a bus nothing is cached');
    } finally {
      await busless.stop();
    }
  });
});
