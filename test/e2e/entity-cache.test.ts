import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually, type GraphQLResult } from '@storefront/platform/testing';
import type { RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The entity cache: the products on a customer's order history (a personal
 * page, never in the response cache) are public, so once fetched they are
 * reused by the next page that shows them — that customer's or another's —
 * without calling the products subgraph; only the products not held are
 * fetched; a price change shows within 1 s; a staff-only field and a
 * mutation's answer are never served from it.
 */
const HISTORY = `query History {
  me { orders(first: 10) { edges { node { id items { quantity product { id name price { amount currency } } } } } } }
}`;
const INVALIDATION_DEADLINE_MS = 1_000;

describe('entity cache', { timeout: 300_000 }, () => {
  let stack: Stack;
  let admin: string;
  let categoryId: string;

  const productFetches = (gateway: RunningGateway = stack.gateway) => gateway.subgraphFetches().products ?? 0;
  const ok = <T>(res: GraphQLResult<T>): T => {
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!;
  };
  const createProduct = async (name: string, amount: number) =>
    ok(
      await stack.query(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
        {
          input: {
            sku: `SKU-${randomUUID().slice(0, 8)}`,
            name,
            price: { amount, currency: 'USD' },
            categoryId,
            stockLevel: 100,
          },
        },
        admin,
      ),
    ).createProduct.id as string;
  const placeOrder = async (token: string, productIds: string[]) =>
    (
      await eventually(
        async () =>
          (
            await stack.query(
              `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
              { input: { items: productIds.map((productId) => ({ productId, quantity: 1 })) }, key: randomUUID() },
              token,
            )
          ).data?.placeOrder,
        30_000,
        'placeOrder to accept the products',
      )
    ).id as string;
  const productsOf = (data: Record<string, any>) =>
    data.me.orders.edges.flatMap((edge: any) =>
      edge.node.items.map((item: any) => ({ id: item.product.id, name: item.product.name, price: item.product.price })),
    );

  /** Asks until the answer needs no products fetch (the catalog event of a product just created may drop the first). */
  const cachedAnswer = async (query: string, token: string, variables: Record<string, unknown> = {}) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const before = productFetches();
      const data = ok(await stack.query(query, variables, token));
      if (productFetches() === before) return data;
      assert.ok(Date.now() < deadline, 'the products of a repeated page kept being fetched: never from the cache');
    }
  };

  before(async () => {
    stack = await startStack();
    admin = await stack.logInAdmin();
    categoryId = ok(
      await stack.query(`mutation { createCategory(name: "Entities ${randomUUID().slice(0, 6)}") { id } }`, {}, admin),
    ).createCategory.id;
  });
  after(() => stack?.stop());

  it("serves the products of one customer's order history to the next page, and to another customer's", async () => {
    const lamp = await createProduct('Entity Lamp', 2500);
    const first = await stack.signUp('Ada');
    const second = await stack.signUp('Grace');
    await placeOrder(first.token, [lamp]);
    await placeOrder(second.token, [lamp]);

    const fresh = ok(await stack.query(HISTORY, {}, first.token));
    assert.deepEqual(productsOf(fresh), [{ id: lamp, name: 'Entity Lamp', price: { amount: 2500, currency: 'USD' } }]);
    const again = await cachedAnswer(HISTORY, first.token);
    assert.deepEqual(again, fresh);

    const hitsBefore = stack.gateway.entityCacheStats().hits;
    const fetchesBefore = productFetches();
    const theirs = ok(await stack.query(HISTORY, {}, second.token));
    assert.equal(productFetches(), fetchesBefore, "the other customer's page called the products subgraph");
    assert.deepEqual(productsOf(theirs), productsOf(fresh));
    // Their own orders, not the first customer's: only the products are shared.
    assert.notDeepEqual(
      theirs.me.orders.edges.map((e: any) => e.node.id),
      fresh.me.orders.edges.map((e: any) => e.node.id),
    );
    assert.equal(stack.gateway.entityCacheStats().hits, hitsBefore + 1);
  });

  it('fetches only the products it does not hold, once each, and keeps each in its place', async () => {
    const held = await createProduct('Held Chair', 4000);
    // Created now: its catalog event would otherwise make the chair's entry unreachable after it is cached.
    const fresh = await createProduct('Fresh Desk', 9000);
    const customer = await stack.signUp('Linus');
    await placeOrder(customer.token, [held]);
    await cachedAnswer(HISTORY, customer.token);

    await placeOrder(customer.token, [fresh, held]);
    const { hits, misses } = stack.gateway.entityCacheStats();
    const fetchesBefore = productFetches();
    const data = ok(await stack.query(HISTORY, {}, customer.token));
    assert.equal(productFetches(), fetchesBefore + 1);
    const stats = stack.gateway.entityCacheStats();
    // Three products on the page, the chair in both orders: the desk is fetched, the chair looked up once.
    assert.deepEqual({ hits: stats.hits - hits, misses: stats.misses - misses }, { hits: 1, misses: 1 });
    const shown = productsOf(data).map((p: any) => `${p.name} ${p.price.amount}`);
    const byOrder = data.me.orders.edges.map((e: any) => e.node.items.map((i: any) => i.product.id));
    const expected = byOrder.flat().map((id: string) => (id === held ? 'Held Chair 4000' : 'Fresh Desk 9000'));
    assert.deepEqual(shown, expected);
    assert.deepEqual(byOrder.flat().sort(), [fresh, held, held].sort());
    // Next time both come from the cache.
    assert.deepEqual(await cachedAnswer(HISTORY, customer.token), data);
  });

  it('shows a price change in the next order history within 1 s', async () => {
    const kettle = await createProduct('Entity Kettle', 3000);
    const customer = await stack.signUp('Edsger');
    await placeOrder(customer.token, [kettle]);
    await cachedAnswer(HISTORY, customer.token);

    const since = Date.now();
    ok(
      await stack.query(
        `mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 3300, currency: "USD" } }) { id } }`,
        { id: kettle },
        admin,
      ),
    );
    for (;;) {
      const data = ok(await stack.query(HISTORY, {}, customer.token));
      const elapsed = Date.now() - since;
      if (productsOf(data)[0].price.amount === 3300) break;
      assert.ok(elapsed <= INVALIDATION_DEADLINE_MS, `still the old price ${elapsed} ms after the change`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it("never keeps an answer with a staff-only field, nor serves a mutation's products from the cache", async () => {
    const stool = await createProduct('Entity Stool', 1200);
    const customer = await stack.signUp('Barbara');
    const orderId = await placeOrder(customer.token, [stool]);
    const staffQuery = `query($id: ID!) { order(id: $id) { items { product { name stockLevel } } } }`;
    const stores = stack.gateway.entityCacheStats().stores;
    for (let i = 0; i < 2; i++) {
      const fetchesBefore = productFetches();
      const data = ok(await stack.query(staffQuery, { id: orderId }, admin));
      assert.equal(typeof data.order.items[0].product.stockLevel, 'number');
      assert.equal(
        productFetches(),
        fetchesBefore + 1,
        'a staff-only field was answered without the products subgraph',
      );
    }
    assert.equal(stack.gateway.entityCacheStats().stores, stores);

    await cachedAnswer(HISTORY, customer.token);
    const fetchesBefore = productFetches();
    const placed = ok(
      await stack.query(
        `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { items { product { name } } } }`,
        { input: { items: [{ productId: stool, quantity: 1 }] }, key: randomUUID() },
        customer.token,
      ),
    );
    assert.equal(placed.placeOrder.items[0].product.name, 'Entity Stool');
    assert.ok(productFetches() > fetchesBefore, "a mutation's products came from the cache");
  });

  it('with ENTITY_CACHE=false, every page fetches its products', async () => {
    const gateway = await stack.startGateway({ ENTITY_CACHE: 'false', RESPONSE_CACHE: 'false' });
    const lamp = await createProduct('Uncached Lamp', 700);
    const customer = await stack.signUp('Alan');
    await placeOrder(customer.token, [lamp]);
    for (let i = 0; i < 3; i++) {
      const before = productFetches(gateway);
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}` },
        body: JSON.stringify({ query: HISTORY }),
      });
      assert.equal(((await res.json()) as GraphQLResult).errors, undefined);
      assert.equal(productFetches(gateway), before + 1);
    }
    assert.deepEqual(gateway.entityCacheStats(), { hits: 0, misses: 0, stores: 0 });
  });
});
