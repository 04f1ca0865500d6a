import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import type { Identity } from '@storefront/platform/auth';
import {
  admin,
  customer,
  knownProducts,
  ORDER,
  PLACE_ORDER,
  publishInventory,
  staff,
  startTestOrders,
  stockReserved,
  transition,
  waitForStatus,
  type Orders,
} from './helpers.ts';

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Order { id status items { quantity } }
    ... on User { id orders(first: 10) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }
  }
}`;
const ORDERS = `query($first: Int, $after: String, $status: OrderStatus) {
  orders(first: $first, after: $after, status: $status) { edges { cursor node { id status user { id } } } pageInfo { hasNextPage endCursor } }
}`;

describe('orders: who may see and change an order', () => {
  let orders: Orders;
  let call: SubgraphCaller;
  let product: string;
  const ann = customer();
  const bob = customer();
  const clerk = staff();
  const boss = admin();

  before(async () => {
    orders = await startTestOrders();
    call = subgraphCaller(orders);
    [product] = (await knownProducts(orders, 1)) as [string];
  });
  after(() => orders?.stop());

  const place = async (who: Identity = ann): Promise<string> => {
    const res = await call(
      PLACE_ORDER,
      { input: { items: [{ productId: product, quantity: 1 }] }, key: randomUUID() },
      who,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!.placeOrder.id;
  };
  const confirmed = async (who: Identity = ann): Promise<string> => {
    const id = await place(who);
    await publishInventory(orders, stockReserved(id, [{ productId: product, quantity: 1, amount: 700 }]));
    await waitForStatus(orders, id, 'CONFIRMED');
    return id;
  };
  const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
  const move = (name: Parameters<typeof transition>[0], id: string, who: Identity | null) =>
    call(transition(name), { id }, who);

  it('shows an order to its owner, staff and admins only', async () => {
    const id = await place();
    for (const who of [ann, clerk, boss]) {
      const res = await call(ORDER, { id }, who);
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.equal(res.data!.order.id, id);
    }
    const other = await call(ORDER, { id }, bob);
    assert.equal(codeOf(other), 'FORBIDDEN');
    assert.equal(other.data?.order, null);
    assert.equal(codeOf(await call(ORDER, { id }, null)), 'UNAUTHENTICATED');
  });

  it('answers NOT_FOUND for unknown and malformed ids', async () => {
    for (const id of [randomUUID(), 'nope']) {
      assert.equal(codeOf(await call(ORDER, { id }, ann)), 'NOT_FOUND');
      assert.equal(codeOf(await move('cancelOrder', id, ann)), 'NOT_FOUND');
    }
  });

  it('guards orders reached through _entities and User.orders the same way', async () => {
    const id = await place();
    const representations = [
      { __typename: 'Order', id },
      { __typename: 'User', id: ann.userId },
    ];
    const asOwner = await call(ENTITIES, { representations }, ann);
    assert.equal(asOwner.errors, undefined, JSON.stringify(asOwner.errors));
    assert.equal(asOwner.data!._entities[0].id, id);
    assert.ok(asOwner.data!._entities[1].orders.edges.some((e: { node: { id: string } }) => e.node.id === id));

    const asOther = await call(ENTITIES, { representations }, bob);
    assert.deepEqual(
      asOther.errors?.map((e) => e.extensions?.code).filter((c) => c !== 'FORBIDDEN'),
      [],
    );
    assert.equal(asOther.data!._entities[0], null);
    assert.equal(asOther.data!._entities[1].orders, null);

    const asAnonymous = await call(ENTITIES, { representations }, null);
    assert.ok(asAnonymous.errors?.every((e) => e.extensions?.code === 'UNAUTHENTICATED'));
    assert.equal(asAnonymous.data!._entities[0], null);

    const asStaff = await call(ENTITIES, { representations }, clerk);
    assert.equal(asStaff.errors, undefined);
    assert.equal(asStaff.data!._entities[0].status, 'PENDING');
  });

  it('lets the owner pay, staff ship and deliver, and nobody else', async () => {
    const id = await confirmed();
    assert.equal(codeOf(await move('payOrder', id, bob)), 'FORBIDDEN');
    assert.equal(codeOf(await move('payOrder', id, clerk)), 'FORBIDDEN');
    assert.equal(codeOf(await move('payOrder', id, null)), 'UNAUTHENTICATED');
    assert.equal((await move('payOrder', id, ann)).data?.payOrder.status, 'PAID');
    assert.equal(codeOf(await move('shipOrder', id, ann)), 'FORBIDDEN');
    assert.equal(codeOf(await move('shipOrder', id, null)), 'UNAUTHENTICATED');
    assert.equal((await move('shipOrder', id, boss)).data?.shipOrder.status, 'SHIPPED');
    assert.equal(codeOf(await move('deliverOrder', id, ann)), 'FORBIDDEN');
    assert.equal((await move('deliverOrder', id, clerk)).data?.deliverOrder.status, 'DELIVERED');
  });

  it('lets the owner or staff cancel, but not another customer', async () => {
    const mine = await place();
    assert.equal(codeOf(await move('cancelOrder', mine, bob)), 'FORBIDDEN');
    assert.equal(codeOf(await move('cancelOrder', mine, null)), 'UNAUTHENTICATED');
    assert.equal((await move('cancelOrder', mine, ann)).data?.cancelOrder.status, 'CANCELLED');
    const paid = await confirmed();
    await move('payOrder', paid, ann);
    const byStaff = await move('cancelOrder', paid, clerk);
    assert.equal(byStaff.data?.cancelOrder.status, 'CANCELLED');
    const history = await orders.db.orderStatusChange.findMany({
      where: { orderId: paid },
      orderBy: { sequence: 'asc' },
    });
    assert.deepEqual(
      history.map((h) => `${h.sequence}:${h.status}`),
      ['1:PENDING', '2:CONFIRMED', '3:PAID', '4:CANCELLED'],
    );
    assert.equal(history[3]!.reason, 'Cancelled by staff');
  });

  it('refuses a transition from the wrong status with CONFLICT naming the current status', async () => {
    const pending = await place();
    const payPending = await move('payOrder', pending, ann);
    assert.equal(codeOf(payPending), 'CONFLICT');
    assert.match(payPending.errors![0]!.message, /is PENDING/);
    assert.equal(codeOf(await move('shipOrder', pending, clerk)), 'CONFLICT');
    assert.equal(codeOf(await move('deliverOrder', pending, clerk)), 'CONFLICT');

    const shipped = await confirmed();
    await move('payOrder', shipped, ann);
    await move('shipOrder', shipped, clerk);
    const cancelShipped = await move('cancelOrder', shipped, ann);
    assert.equal(codeOf(cancelShipped), 'CONFLICT');
    assert.match(cancelShipped.errors![0]!.message, /is SHIPPED/);

    await move('cancelOrder', pending, ann);
    const twice = await move('cancelOrder', pending, ann);
    assert.equal(codeOf(twice), 'CONFLICT');
    assert.match(twice.errors![0]!.message, /is CANCELLED/);
    const history = await orders.db.orderStatusChange.count({ where: { orderId: pending } });
    assert.equal(history, 2);
  });

  it('lets exactly one of two concurrent transitions win', async () => {
    const pairs: [Parameters<typeof transition>[0], Identity, Identity][] = [
      ['payOrder', ann, ann],
      ['cancelOrder', ann, clerk],
    ];
    for (const [name, one, other] of pairs) {
      const id = await confirmed();
      const results = await Promise.all([move(name, id, one), move(name, id, other)]);
      const codes = results.map((r) => codeOf(r) ?? 'OK').sort();
      assert.deepEqual(codes, ['CONFLICT', 'OK'], JSON.stringify(results));
      const history = await orders.db.orderStatusChange.findMany({
        where: { orderId: id },
        orderBy: { sequence: 'asc' },
      });
      assert.deepEqual(
        history.map((h) => h.sequence),
        [1, 2, 3],
      );
      const events = await orders.db.outboxEvent.count({ where: { aggregateId: id } });
      assert.equal(events, 3); // placed, confirmed, and the winner's
    }
  });

  it('lists all orders newest first for staff only, by status and page by page', async () => {
    const mine = [await place(), await place(), await place(bob)];
    await move('cancelOrder', mine[1]!, ann);
    assert.equal(codeOf(await call(ORDERS, {}, ann)), 'FORBIDDEN');
    assert.equal(codeOf(await call(ORDERS, {}, null)), 'UNAUTHENTICATED');

    const firstPage = await call(ORDERS, { first: 2 }, clerk);
    assert.equal(firstPage.errors, undefined);
    assert.deepEqual(
      firstPage.data!.orders.edges.map((e: { node: { id: string } }) => e.node.id),
      [mine[2], mine[1]],
    );
    assert.equal(firstPage.data!.orders.pageInfo.hasNextPage, true);
    const next = await call(ORDERS, { first: 1, after: firstPage.data!.orders.pageInfo.endCursor }, clerk);
    assert.deepEqual(
      next.data!.orders.edges.map((e: { node: { id: string } }) => e.node.id),
      [mine[0]],
    );

    const cancelled = await call(ORDERS, { first: 100, status: 'CANCELLED' }, boss);
    const ids = cancelled.data!.orders.edges.map((e: { node: { id: string; status: string } }) => e.node);
    assert.ok(ids.every((o: { status: string }) => o.status === 'CANCELLED'));
    assert.ok(ids.some((o: { id: string }) => o.id === mine[1]));

    for (const after of [
      'garbage',
      Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString('base64url'),
    ]) {
      const bad = await call(ORDERS, { first: 2, after }, clerk);
      assert.equal(codeOf(bad), 'BAD_USER_INPUT');
      assert.equal(bad.errors![0]!.extensions!.field, 'after');
    }
    assert.equal(codeOf(await call(ORDERS, { first: 0 }, clerk)), 'BAD_USER_INPUT');
  });

  it("pages a user's own orders through User.orders", async () => {
    const carol = customer();
    const placed = [await place(carol), await place(carol), await place(carol)];
    const query = `query($representations: [_Any!]!, $after: String) {
      _entities(representations: $representations) { ... on User { orders(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }
    }`;
    const representations = [{ __typename: 'User', id: carol.userId }];
    const page1 = (await call(query, { representations }, carol)).data!._entities[0].orders;
    assert.deepEqual(
      page1.edges.map((e: { node: { id: string } }) => e.node.id),
      [placed[2], placed[1]],
    );
    assert.equal(page1.pageInfo.hasNextPage, true);
    const page2 = (await call(query, { representations, after: page1.pageInfo.endCursor }, carol)).data!._entities[0]
      .orders;
    assert.deepEqual(
      page2.edges.map((e: { node: { id: string } }) => e.node.id),
      [placed[0]],
    );
    assert.equal(page2.pageInfo.hasNextPage, false);
  });
});
