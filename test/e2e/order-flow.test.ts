import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The foundation's promise, end to end through the gateway: a customer signs
 * up, places an order that the saga prices over the event bus (Kafka in the
 * test command), pays, and staff ship and deliver it; stock moves exactly once.
 */
const PLACE = `mutation($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) { id status }
}`;
const ORDER = `query($id: ID!) {
  order(id: $id) {
    id status total { amount currency }
    user { name }
    items { quantity unitPrice { amount } lineTotal { amount } product { name } }
    statusHistory { status }
  }
}`;
const STOCK = `query($id: ID!) { product(id: $id) { stockLevel } }`;

describe('order flow through the gateway', { timeout: 240_000 }, () => {
  let stack: Stack;
  let admin: string;
  let product: { id: string; price: number };

  const waitForStatus = (id: string, status: string, token: string) =>
    eventually(
      async () => {
        const res = await stack.query(ORDER, { id }, token);
        return res.data?.order?.status === status ? res.data.order : undefined;
      },
      60_000,
      `order ${id} to be ${status}`,
    );
  const stockOf = async (id: string) => (await stack.query(STOCK, { id }, admin)).data!.product.stockLevel as number;

  before(async () => {
    stack = await startStack();
    admin = await stack.logInAdmin();
    await stack.services.products.seed();
    const categories = await stack.query(`{ categories { id name } }`);
    const categoryId = categories.data!.categories[0].id;
    const created = await stack.query(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id price { amount } } }`,
      {
        input: {
          sku: `SKU-${randomUUID().slice(0, 8)}`,
          name: 'Trail Running Shoe',
          description: 'Light shoe for rough paths',
          price: { amount: 8999, currency: 'USD' },
          categoryId,
          stockLevel: 5,
        },
      },
      admin,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    product = { id: created.data!.createProduct.id, price: created.data!.createProduct.price.amount };
  });
  after(() => stack?.stop());

  it('places, prices (CONFIRMED via events), pays, ships and delivers an order', async () => {
    const customer = await stack.signUp('Grace Hopper');
    const input = {
      items: [{ productId: product.id, quantity: 2 }],
      shippingAddress: { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
    };
    // The product may take a moment to reach orders' catalogue over the bus.
    const placed = await eventually(
      async () => {
        const res = await stack.query(PLACE, { input, key: randomUUID() }, customer.token);
        return res.data?.placeOrder;
      },
      30_000,
      'placeOrder to accept the new product',
    );
    assert.equal(placed.status, 'PENDING');

    const confirmed = await waitForStatus(placed.id, 'CONFIRMED', customer.token);
    assert.deepEqual(confirmed.total, { amount: 2 * product.price, currency: 'USD' });
    assert.equal(confirmed.user.name, 'Grace Hopper');
    assert.deepEqual(confirmed.items, [
      {
        quantity: 2,
        unitPrice: { amount: product.price },
        lineTotal: { amount: 2 * product.price },
        product: { name: 'Trail Running Shoe' },
      },
    ]);
    assert.equal(await stockOf(product.id), 3);

    const paid = await stack.query(
      `mutation($id: ID!) { payOrder(id: $id) { status } }`,
      { id: placed.id },
      customer.token,
    );
    assert.equal(paid.data?.payOrder.status, 'PAID', JSON.stringify(paid.errors));
    const customerShips = await stack.query(
      `mutation($id: ID!) { shipOrder(id: $id) { status } }`,
      { id: placed.id },
      customer.token,
    );
    assert.equal(customerShips.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    const shipped = await stack.query(`mutation($id: ID!) { shipOrder(id: $id) { status } }`, { id: placed.id }, admin);
    assert.equal(shipped.data?.shipOrder.status, 'SHIPPED');
    const delivered = await stack.query(
      `mutation($id: ID!) { deliverOrder(id: $id) { status } }`,
      { id: placed.id },
      admin,
    );
    assert.equal(delivered.data?.deliverOrder.status, 'DELIVERED');

    const final = await stack.query(ORDER, { id: placed.id }, customer.token);
    assert.deepEqual(
      final.data!.order.statusHistory.map((h: { status: string }) => h.status),
      ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED'],
    );
    assert.equal(await stockOf(product.id), 3, 'stock was decremented exactly once');

    // The customer hears about it in-app (after a welcome, and beside the emails' records).
    const subjects = await eventually(
      async () => {
        const res = await stack.query(
          `{ me { notifications(first: 20) { edges { node { subject } } } } }`,
          {},
          customer.token,
        );
        const list = (res.data?.me?.notifications?.edges ?? []).map(
          (e: { node: { subject: string } }) => e.node.subject,
        );
        return list.some((s: string) => /delivered/i.test(s)) ? list : undefined;
      },
      30_000,
      'notifications',
    );
    assert.ok(
      subjects.some((s: string) => /confirmed/i.test(s)),
      subjects.join(', '),
    );
    assert.ok(
      subjects.some((s: string) => /delivered/i.test(s)),
      subjects.join(', '),
    );
  });

  it('answers a customer’s order history with items, product names, prices and their name', async () => {
    const customer = await stack.signUp('Ada Lovelace');
    const placed = await stack.query(
      PLACE,
      { input: { items: [{ productId: product.id, quantity: 1 }] }, key: randomUUID() },
      customer.token,
    );
    await waitForStatus(placed.data!.placeOrder.id, 'CONFIRMED', customer.token);
    const history = await stack.query(
      `{ me { name orders(first: 10) { edges { node { id status total { amount } items { quantity unitPrice { amount } product { name } } user { name } } } } } }`,
      {},
      customer.token,
    );
    assert.equal(history.errors, undefined, JSON.stringify(history.errors));
    const order = history.data!.me.orders.edges[0].node;
    assert.equal(history.data!.me.name, 'Ada Lovelace');
    assert.equal(order.user.name, 'Ada Lovelace');
    assert.equal(order.total.amount, product.price);
    assert.deepEqual(order.items, [
      { quantity: 1, unitPrice: { amount: product.price }, product: { name: 'Trail Running Shoe' } },
    ]);
  });

  it('retrying placeOrder with the same idempotency key returns the same order, never a second one', async () => {
    const customer = await stack.signUp();
    const before = await stockOf(product.id);
    const key = randomUUID();
    const input = { items: [{ productId: product.id, quantity: 1 }] };
    const [a, b] = await Promise.all([
      stack.query(PLACE, { input, key }, customer.token),
      stack.query(PLACE, { input, key }, customer.token),
    ]);
    const c = await stack.query(PLACE, { input, key }, customer.token);
    const ids = [a, b, c].map((r) => r.data?.placeOrder.id);
    assert.ok(ids[0]);
    assert.deepEqual(new Set(ids).size, 1, JSON.stringify([a, b, c]));
    await waitForStatus(ids[0], 'CONFIRMED', customer.token);
    assert.equal(await stockOf(product.id), before - 1);
    const mine = await stack.query(`{ me { orders(first: 10) { edges { node { id } } } } }`, {}, customer.token);
    assert.equal(mine.data!.me.orders.edges.length, 1);
  });

  it('rejects an order when stock is short, and leaves stock untouched', async () => {
    const customer = await stack.signUp();
    const before = await stockOf(product.id);
    const placed = await stack.query(
      PLACE,
      { input: { items: [{ productId: product.id, quantity: before + 1 }] }, key: randomUUID() },
      customer.token,
    );
    await waitForStatus(placed.data!.placeOrder.id, 'REJECTED', customer.token);
    assert.equal(await stockOf(product.id), before);
  });

  it('cancelling a confirmed order gives its stock back', async () => {
    const customer = await stack.signUp();
    const before = await stockOf(product.id);
    const placed = await stack.query(
      PLACE,
      { input: { items: [{ productId: product.id, quantity: 1 }] }, key: randomUUID() },
      customer.token,
    );
    const id = placed.data!.placeOrder.id;
    await waitForStatus(id, 'CONFIRMED', customer.token);
    assert.equal(await stockOf(product.id), before - 1);
    const cancelled = await stack.query(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id },
      customer.token,
    );
    assert.equal(cancelled.data?.cancelOrder.status, 'CANCELLED');
    await eventually(async () => (await stockOf(product.id)) === before, 30_000, 'stock released');
  });

  it('keeps one customer out of another’s order', async () => {
    const owner = await stack.signUp();
    const other = await stack.signUp();
    const placed = await stack.query(
      PLACE,
      { input: { items: [{ productId: product.id, quantity: 1 }] }, key: randomUUID() },
      owner.token,
    );
    const id = placed.data!.placeOrder.id;
    const peek = await stack.query(ORDER, { id }, other.token);
    assert.equal(peek.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal(peek.data?.order ?? null, null);
    const anonymous = await stack.query(ORDER, { id });
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const pay = await stack.query(`mutation($id: ID!) { payOrder(id: $id) { status } }`, { id }, other.token);
    assert.equal(pay.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  it('answers bad input with clear codes', async () => {
    const customer = await stack.signUp();
    const empty = await stack.query(PLACE, { input: { items: [] }, key: randomUUID() }, customer.token);
    assert.equal(empty.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const zero = await stack.query(
      PLACE,
      { input: { items: [{ productId: product.id, quantity: 0 }] }, key: randomUUID() },
      customer.token,
    );
    assert.equal(zero.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(zero.errors?.[0]?.extensions?.field, 'input.items[0].quantity');
    const unknown = await stack.query(
      PLACE,
      { input: { items: [{ productId: randomUUID(), quantity: 1 }] }, key: randomUUID() },
      customer.token,
    );
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const missing = await stack.query(ORDER, { id: randomUUID() }, admin);
    assert.equal(missing.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const badCursor = await stack.query(`{ products(first: 2, after: "not-a-cursor") { edges { cursor } } }`);
    assert.equal(badCursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const badToken = await stack.query(`{ me { id } }`, {}, 'not.a.token');
    assert.equal(badToken.status, 401);
    assert.equal(badToken.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });
});
