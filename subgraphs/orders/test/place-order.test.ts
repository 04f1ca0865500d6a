import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { enqueueEvents } from '@storefront/platform/events';
import { subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import { createLogger } from '@storefront/platform/logger';
import { createRegistry } from '@storefront/platform/metrics';
import type { Context } from '../src/context.ts';
import { createLoaders } from '../src/data/loaders.ts';
import { placeOrder } from '../src/place-order.ts';
import { customer, knownProducts, PLACE_ORDER, startTestOrders, type Orders } from './helpers.ts';

describe('orders: placeOrder', () => {
  let orders: Orders;
  let call: SubgraphCaller;
  let products: [string, string, string];
  const ann = customer();

  before(async () => {
    orders = await startTestOrders();
    call = subgraphCaller(orders);
    products = (await knownProducts(orders, 3)) as [string, string, string];
  });
  after(() => orders?.stop());

  const items = () => [
    { productId: products[0], quantity: 2 },
    { productId: products[1], quantity: 1 },
  ];
  const place = (input: object, key: string, who = ann) => call(PLACE_ORDER, { input, key }, who);
  const ordersWithKey = (key: string, userId = ann.userId) =>
    orders.db.order.count({ where: { userId, idempotencyKey: key } });

  it('returns the same order when retried with the same key and input', async () => {
    const key = randomUUID();
    const first = await place({ items: items() }, key);
    assert.equal(first.errors, undefined);
    // Line order and id case do not make it a different request.
    const reordered = [...items()].reverse().map((i) => ({ ...i, productId: i.productId.toUpperCase() }));
    const again = await place({ items: reordered }, key);
    assert.equal(again.errors, undefined);
    assert.equal(again.data!.placeOrder.id, first.data!.placeOrder.id);
    assert.equal(await ordersWithKey(key), 1);
    const placedEvents = await orders.db.outboxEvent.count({
      where: { aggregateId: first.data!.placeOrder.id, type: 'OrderPlaced' },
    });
    assert.equal(placedEvents, 1);
  });

  it('creates one order when the same request races itself', async () => {
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 5 }, () => place({ items: items() }, key)));
    for (const res of results) assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(new Set(results.map((r) => r.data!.placeOrder.id)).size, 1);
    assert.equal(await ordersWithKey(key), 1);
    const placedEvents = await orders.db.outboxEvent.count({ where: { aggregateId: results[0]!.data!.placeOrder.id } });
    assert.equal(placedEvents, 1);
  });

  it('answers with the winning order when it loses the insert race', async () => {
    // The race window (both callers see no order, both insert) is too narrow to hit
    // reliably over HTTP, so this caller's first look is made to miss the winner.
    const key = randomUUID();
    const winner = (await place({ items: items() }, key)).data!.placeOrder;
    const ctx = contextWhoseFirstLookupMisses(orders);
    const loser = await placeOrder(ctx, ann, { items: items() }, key);
    assert.equal(loser.id, winner.id);
    const different = contextWhoseFirstLookupMisses(orders);
    await assert.rejects(
      placeOrder(different, ann, { items: [{ productId: products[2], quantity: 1 }] }, key),
      (error: Error & { extensions?: Record<string, unknown> }) => {
        assert.equal(error.extensions?.field, 'idempotencyKey');
        return true;
      },
    );
    assert.equal(await ordersWithKey(key), 1);
  });

  it('refuses the same key with a different input, also under a race', async () => {
    const key = randomUUID();
    assert.equal((await place({ items: items() }, key)).errors, undefined);
    for (const input of [
      { items: [{ productId: products[0], quantity: 3 }] },
      { items: items(), shippingAddress: { line1: 'x', city: 'y', country: 'FR' } },
    ]) {
      const res = await place(input, key);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(res.errors?.[0]?.extensions?.field, 'idempotencyKey');
    }
    const raceKey = randomUUID();
    const [a, b] = await Promise.all([
      place({ items: [{ productId: products[0], quantity: 1 }] }, raceKey),
      place({ items: [{ productId: products[0], quantity: 2 }] }, raceKey),
    ]);
    const outcomes = [a, b].map((r) => r.errors?.[0]?.extensions?.field ?? 'placed').sort();
    assert.deepEqual(outcomes, ['idempotencyKey', 'placed']);
    assert.equal(await ordersWithKey(raceKey), 1);
  });

  it('scopes idempotency keys to the user', async () => {
    const key = randomUUID();
    const bob = customer();
    const mine = await place({ items: items() }, key);
    const theirs = await place({ items: items() }, key, bob);
    assert.notEqual(mine.data!.placeOrder.id, theirs.data!.placeOrder.id);
  });

  const refused = async (input: object, field: string, key: string = randomUUID()) => {
    const res = await place(input, key);
    assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${field}: ${JSON.stringify(res.errors)}`);
    assert.equal(res.errors?.[0]?.extensions?.field, field);
    assert.equal(res.data?.placeOrder ?? null, null);
  };

  it('names the field of every invalid input', async () => {
    const [p0, p1] = products;
    await refused({ items: [] }, 'input.items');
    await refused(
      { items: Array.from({ length: 101 }, () => ({ productId: randomUUID(), quantity: 1 })) },
      'input.items',
    );
    await refused({ items: [{ productId: p0, quantity: 0 }] }, 'input.items[0].quantity');
    await refused(
      {
        items: [
          { productId: p0, quantity: 1 },
          { productId: p1, quantity: -3 },
        ],
      },
      'input.items[1].quantity',
    );
    await refused({ items: [{ productId: p0, quantity: 1001 }] }, 'input.items[0].quantity');
    await refused({ items: [{ productId: 'not-a-uuid', quantity: 1 }] }, 'input.items[0].productId');
    await refused(
      {
        items: [
          { productId: p0, quantity: 1 },
          { productId: randomUUID(), quantity: 1 },
        ],
      },
      'input.items[1].productId',
    );
    await refused(
      {
        items: [
          { productId: p0, quantity: 1 },
          { productId: p0.toUpperCase(), quantity: 2 },
        ],
      },
      'input.items[1].productId',
    );
    const address = { line1: '1 Main St', city: 'Berlin', country: 'DE' };
    await refused({ items: items(), shippingAddress: { ...address, line1: '   ' } }, 'input.shippingAddress.line1');
    await refused(
      { items: items(), shippingAddress: { ...address, line1: 'x'.repeat(201) } },
      'input.shippingAddress.line1',
    );
    await refused(
      { items: items(), shippingAddress: { ...address, line2: 'x'.repeat(201) } },
      'input.shippingAddress.line2',
    );
    await refused({ items: items(), shippingAddress: { ...address, city: '' } }, 'input.shippingAddress.city');
    await refused(
      { items: items(), shippingAddress: { ...address, postalCode: '1'.repeat(21) } },
      'input.shippingAddress.postalCode',
    );
    await refused({ items: items(), shippingAddress: { ...address, country: 'DEU' } }, 'input.shippingAddress.country');
    await refused({ items: items(), shippingAddress: { ...address, country: 'D1' } }, 'input.shippingAddress.country');
    await refused({ items: items() }, 'idempotencyKey', '');
    await refused({ items: items() }, 'idempotencyKey', 'k'.repeat(101));
    assert.equal(await orders.db.order.count({ where: { userId: ann.userId, idempotencyKey: '' } }), 0);
  });

  it('refuses a non-integer quantity before it reaches the service', async () => {
    const res = await place({ items: [{ productId: products[0], quantity: 1.5 }] }, randomUUID());
    assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(res.errors[0].message, /quantity/);
  });

  it('refuses an anonymous caller', async () => {
    const res = await call(PLACE_ORDER, { input: { items: items() }, key: randomUUID() }, null);
    assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('accepts an address without the optional parts and a 100-character key', async () => {
    const res = await place(
      { items: items(), shippingAddress: { line1: 'Main St 1', line2: '', city: 'Dublin', country: 'ie' } },
      'k'.repeat(100),
    );
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data!.placeOrder.shippingAddress, {
      line1: 'Main St 1',
      line2: null,
      city: 'Dublin',
      postalCode: null,
      country: 'IE',
    });
  });
});

/** A context on the service's database whose first order lookup by idempotency key finds nothing. */
function contextWhoseFirstLookupMisses(orders: Orders): Context {
  let missed = false;
  const orderDelegate = new Proxy(orders.db.order, {
    get(target, property, receiver) {
      if (property === 'findUnique' && !missed) {
        missed = true;
        return async () => null;
      }
      return Reflect.get(target, property, receiver);
    },
  });
  const db = new Proxy(orders.db, {
    get: (target, property, receiver) =>
      property === 'order' ? orderDelegate : Reflect.get(target, property, receiver),
  });
  const logger = createLogger({ name: 'test', level: 'silent' });
  return {
    identity: null,
    logger,
    requestId: 'test',
    loaders: createLoaders(orders.db),
    live: orders.liveFeed!,
    runtime: {
      name: 'orders',
      db,
      bus: orders.bus,
      logger,
      transact: (work) =>
        orders.db.$transaction((tx) => work(tx, (topic, event) => enqueueEvents(tx, [{ topic, event }]))),
      processOnce: () => Promise.reject(new Error('not used')),
      liveFeed: () => {
        throw new Error('not used');
      },
      metrics: createRegistry(),
    },
  };
}
