import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import { createLoaders } from '../src/data/loaders.ts';
import { staff, startTestOrders, type Orders } from './helpers.ts';

/**
 * N+1 guard. A request's cost is the number of SQL statements the service
 * sent while serving it: `statementCount()` comes from the platform's
 * counting wrapper around the Prisma driver adapter, which counts only
 * statements issued inside a GraphQL request (not the outbox relay's polling
 * or consumers). The orders are written straight to the database: a relay
 * nudged from inside a request currently keeps that request's scope for its
 * later polls, which would then be counted too.
 */
describe('orders: statements per request do not grow with the page', () => {
  let orders: Orders;
  let call: SubgraphCaller;
  const clerk = staff();
  const users = Array.from({ length: 30 }, () => randomUUID());
  const orderIds: string[] = [];

  before(async () => {
    orders = await startTestOrders();
    call = subgraphCaller(orders);
    const start = Date.now() - 1_000_000;
    for (let i = 0; i < 120; i++) {
      const order = await orders.db.order.create({
        data: {
          userId: users[i % users.length]!,
          idempotencyKey: `seed-${i}`,
          requestHash: 'seed',
          createdAt: new Date(start + i * 1000),
          status: 'CONFIRMED',
          version: 2,
          totalAmount: 300,
          currency: 'EUR',
          items: {
            create: [0, 1].map((position) => ({ position, productId: randomUUID(), quantity: 1, unitPrice: 150 })),
          },
          history: {
            create: [
              { sequence: 1, status: 'PENDING' },
              { sequence: 2, status: 'CONFIRMED' },
            ],
          },
        },
      });
      orderIds.push(order.id);
    }
  });
  after(() => orders?.stop());

  async function cost(query: string, variables: Record<string, unknown>): Promise<number> {
    const before = orders.statementCount();
    const res = await call(query, variables, clerk);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return orders.statementCount() - before;
  }

  const LIST = `query($first: Int) { orders(first: $first) { edges { node {
    id status total { amount } user { id } createdAt
    items { quantity unitPrice { amount } lineTotal { amount } product { id } }
    statusHistory { sequence status }
  } } } }`;

  it('orders(first: N) { items … statusHistory … } costs the same for N = 10 and N = 100', async () => {
    const small = await cost(LIST, { first: 10 });
    const large = await cost(LIST, { first: 100 });
    assert.equal(large, small);
    assert.equal(small, 3, 'page + items + history');
  });

  const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on Order { id status items { quantity } statusHistory { sequence } }
  } }`;

  it('_entities for N orders costs the same for N = 10 and N = 100', async () => {
    const reps = (n: number) =>
      orderIds.slice(0, n).flatMap((id) => [
        { __typename: 'Order', id },
        { __typename: 'Order', id },
      ]);
    const small = await cost(ENTITIES, { representations: reps(10) });
    const large = await cost(ENTITIES, { representations: reps(100) });
    assert.equal(large, small);
    assert.equal(small, 3, 'orders + items + history');
  });

  const USER_ORDERS = `query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on User { id orders(first: 3) { edges { node { id items { quantity } } } pageInfo { hasNextPage } } }
  } }`;

  it('User.orders for M users costs the same for M = 3 and M = 30', async () => {
    const reps = (m: number) => users.slice(0, m).map((id) => ({ __typename: 'User', id }));
    const small = await cost(USER_ORDERS, { representations: reps(3) });
    const large = await cost(USER_ORDERS, { representations: reps(30) });
    assert.equal(large, small);
    assert.equal(small, 2, 'the pages (one window query) + items');
    const res = await call(USER_ORDERS, { representations: reps(30) }, clerk);
    for (const entity of res.data!._entities) {
      assert.equal(entity.orders.edges.length, 3);
      assert.equal(entity.orders.pageInfo.hasNextPage, true);
      assert.ok(entity.orders.edges.every((e: { node: { items: unknown[] } }) => e.node.items.length === 2));
    }
  });

  it("a user's page, read with one raw statement, holds the orders Prisma reads, field for field", async () => {
    const loaders = createLoaders(orders.db);
    const [page, next] = await Promise.all([
      loaders.ordersByUserId.load({ userId: users[0]!, first: 2 }),
      loaders.ordersByUserId.load({ userId: users[1]!.toUpperCase(), first: 2 }),
    ]);
    for (const [userId, connection] of [
      [users[0]!, page],
      [users[1]!, next],
    ] as const) {
      const expected = await orders.db.order.findMany({
        where: { userId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: 2,
      });
      assert.deepEqual(
        connection.edges.map((edge) => edge.node),
        expected,
      );
      assert.equal(connection.pageInfo.hasNextPage, true);
    }
  });
});
