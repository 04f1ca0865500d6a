import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Batched loading everywhere: the cost of a staff query for N orders with
 * their users and product names must not depend on N — the same number of
 * SQL statements in every service and the same number of subgraph fetches
 * for 10 orders as for 200.
 */
const STAFF_QUERY = `query($n: Int!) {
  orders(first: $n) { edges { node { id user { name } items { quantity product { name } } } } }
}`;

describe('batched loading', { timeout: 300_000 }, () => {
  let stack: Stack;
  let admin: string;

  before(async () => {
    stack = await startStack();
    admin = await stack.logInAdmin();
    await stack.services.products.seed();
    const products = (await stack.query(`{ products(first: 5) { edges { node { id } } } }`)).data!.products.edges.map(
      (e: { node: { id: string } }) => e.node.id,
    );
    const customers = await Promise.all(Array.from({ length: 5 }, (_, i) => stack.signUp(`Customer ${i}`)));
    // 200 orders from 5 customers, each with 2 lines: enough rows that any N+1 would show.
    const place = (i: number) =>
      stack.query(
        `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
        {
          input: {
            items: [
              { productId: products[i % 5], quantity: 1 },
              { productId: products[(i + 1) % 5], quantity: 1 },
            ],
          },
          key: randomUUID(),
        },
        customers[i % 5]!.token,
      );
    // Each product reaches orders' catalogue over the bus on its own time: wait for all five.
    for (let i = 0; i < 5; i++)
      await eventually(async () => (await place(i)).data?.placeOrder, 30_000, 'catalogue known to orders');
    // Ten at a time: the rows are the point here, not how many checkouts the machine can take at once.
    for (let start = 5; start < 200; start += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, 200 - start) }, (_, k) => place(start + k)));
      for (const res of batch) assert.ok(res.data?.placeOrder, JSON.stringify(res.errors));
    }
  });
  after(() => stack?.stop());

  const measure = async (n: number) => {
    const services = Object.values(stack.services);
    const statementsBefore = services.map((s) => s.statementCount());
    const fetchesBefore = stack.gateway.subgraphFetches();
    const res = await stack.query(STAFF_QUERY, { n }, admin);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data!.orders.edges.length, n);
    for (const edge of res.data!.orders.edges) {
      assert.ok(edge.node.user.name);
      for (const item of edge.node.items) assert.ok(item.product.name);
    }
    const fetchesAfter = stack.gateway.subgraphFetches();
    return {
      statements: Object.fromEntries(services.map((s, i) => [s.name, s.statementCount() - statementsBefore[i]!])),
      fetches: Object.fromEntries(
        Object.keys(fetchesAfter).map((k) => [k, fetchesAfter[k]! - (fetchesBefore[k] ?? 0)]),
      ),
    };
  };

  it('costs the same SQL statements and subgraph fetches for 10 orders as for 200', async () => {
    await measure(10); // warm-up: plan cache, connection pools
    const ten = await measure(10);
    const twoHundred = await measure(200);
    assert.deepEqual(twoHundred.statements, ten.statements);
    assert.deepEqual(twoHundred.fetches, ten.fetches);
    // And it is small: one or two statements per service involved.
    for (const [service, count] of Object.entries(ten.statements))
      assert.ok(count <= 4, `${service}: ${count} statements`);
  });
});
