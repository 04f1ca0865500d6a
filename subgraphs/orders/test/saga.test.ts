import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import { createEvent, TOPICS, deadLetterTopic } from '@storefront/platform/events';
import {
  customer,
  knownProducts,
  observeOrderEvents,
  ORDER,
  PLACE_ORDER,
  publishInventory,
  staff,
  startTestOrders,
  stockRejected,
  stockReserved,
  transition,
  waitForStatus,
  type Orders,
} from './helpers.ts';

describe('orders: the order saga, driven by inventory events', () => {
  let orders: Orders;
  let call: SubgraphCaller;
  let observer: Awaited<ReturnType<typeof observeOrderEvents>>;
  const ann = customer();
  const clerk = staff();

  before(async () => {
    orders = await startTestOrders();
    call = subgraphCaller(orders);
    observer = await observeOrderEvents(orders);
  });
  after(async () => {
    await observer.stop();
    await orders.stop();
  });

  const place = async (
    items: { productId: string; quantity: number }[],
    key = crypto.randomUUID(),
    extra: object = {},
  ) => {
    const res = await call(PLACE_ORDER, { input: { items, ...extra }, key }, ann);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!.placeOrder;
  };
  const eventsOf = (orderId: string) => observer.events.filter((e) => e.aggregateId === orderId);

  it('places a PENDING order and publishes OrderPlaced with it', async () => {
    const [book, pen] = await knownProducts(orders, 2);
    const order = await place(
      [
        { productId: book!, quantity: 2 },
        { productId: pen!, quantity: 1 },
      ],
      undefined,
      {
        shippingAddress: { line1: ' 1 Main St ', city: 'Berlin', postalCode: '10115', country: 'de' },
      },
    );
    assert.equal(order.status, 'PENDING');
    assert.equal(order.total, null);
    assert.equal(order.user.id, ann.userId);
    assert.deepEqual(
      order.items.map((i: { product: { id: string }; quantity: number }) => [i.product.id, i.quantity]),
      [
        [book, 2],
        [pen, 1],
      ],
    );
    assert.equal(order.items[0].unitPrice, null);
    assert.deepEqual(
      order.statusHistory.map((h: { status: string; sequence: number }) => [h.status, h.sequence]),
      [['PENDING', 1]],
    );
    assert.deepEqual(order.shippingAddress, {
      line1: '1 Main St',
      line2: null,
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
    });

    const placed = await eventually(
      () => eventsOf(order.id).find((e) => e.type === 'OrderPlaced'),
      15_000,
      'OrderPlaced',
    );
    assert.deepEqual(placed.data, {
      orderId: order.id,
      userId: ann.userId,
      items: [
        { productId: book, quantity: 2 },
        { productId: pen, quantity: 1 },
      ],
    });
  });

  it('confirms and prices the order on StockReserved', async () => {
    const [book, pen] = await knownProducts(orders, 2);
    const order = await place([
      { productId: book!, quantity: 2 },
      { productId: pen!, quantity: 3 },
    ]);
    const reserved = stockReserved(order.id, [
      { productId: book!, quantity: 2, amount: 1250 },
      { productId: pen!, quantity: 3, amount: 199 },
    ]);
    reserved.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await publishInventory(orders, reserved);
    await waitForStatus(orders, order.id, 'CONFIRMED');

    const read = (await call(ORDER, { id: order.id }, ann)).data!.order;
    assert.deepEqual(read.total, { amount: 2 * 1250 + 3 * 199, currency: 'EUR' });
    assert.deepEqual(
      read.items.map((i: { unitPrice: unknown; lineTotal: unknown }) => [i.unitPrice, i.lineTotal]),
      [
        [
          { amount: 1250, currency: 'EUR' },
          { amount: 2500, currency: 'EUR' },
        ],
        [
          { amount: 199, currency: 'EUR' },
          { amount: 597, currency: 'EUR' },
        ],
      ],
    );
    assert.deepEqual(
      read.statusHistory.map((h: { status: string; sequence: number }) => [h.status, h.sequence]),
      [
        ['PENDING', 1],
        ['CONFIRMED', 2],
      ],
    );

    const confirmed = await eventually(
      () => eventsOf(order.id).find((e) => e.type === 'OrderConfirmed'),
      15_000,
      'OrderConfirmed',
    );
    assert.deepEqual(
      { ...(confirmed.data as object), at: undefined },
      {
        orderId: order.id,
        userId: ann.userId,
        status: 'CONFIRMED',
        sequence: 2,
        at: undefined,
        total: { amount: 3097, currency: 'EUR' },
      },
    );
    assert.equal(confirmed.traceparent, reserved.traceparent, 'the saga stays one trace');
  });

  it('rejects the order on StockRejected, with the reason', async () => {
    const [book] = await knownProducts(orders, 1);
    const order = await place([{ productId: book!, quantity: 5 }]);
    await publishInventory(orders, stockRejected(order.id, book!));
    await waitForStatus(orders, order.id, 'REJECTED');
    const read = (await call(ORDER, { id: order.id }, ann)).data!.order;
    assert.equal(read.total, null);
    assert.equal(read.statusHistory[1].status, 'REJECTED');
    assert.match(read.statusHistory[1].reason, /Insufficient stock/);
    const rejected = await eventually(
      () => eventsOf(order.id).find((e) => e.type === 'OrderRejected'),
      15_000,
      'OrderRejected',
    );
    assert.equal((rejected.data as { sequence: number }).sequence, 2);
    assert.match((rejected.data as { reason: string }).reason, /Insufficient stock/);
  });

  it('applies a redelivered StockReserved once', async () => {
    const [book] = await knownProducts(orders, 1);
    const order = await place([{ productId: book!, quantity: 1 }]);
    const reserved = stockReserved(order.id, [{ productId: book!, quantity: 1, amount: 500 }]);
    await publishInventory(orders, reserved, reserved);
    await publishInventory(orders, reserved);
    // A later event on the same key is handled after the redeliveries: once it is, they are done.
    const barrier = stockRejected(order.id, book!);
    await publishInventory(orders, barrier);
    await eventually(async () => (await orders.db.processedEvent.count({ where: { eventId: barrier.id } })) === 1);
    assert.equal(await orders.db.processedEvent.count({ where: { eventId: reserved.id } }), 1);
    const read = await orders.db.order.findUniqueOrThrow({ where: { id: order.id }, include: { history: true } });
    assert.equal(read.status, 'CONFIRMED');
    assert.deepEqual(read.history.map((h) => h.sequence).sort(), [1, 2]);
    await eventually(() => eventsOf(order.id).some((e) => e.type === 'OrderConfirmed'), 15_000, 'OrderConfirmed');
    assert.equal(eventsOf(order.id).filter((e) => e.type === 'OrderConfirmed').length, 1);
  });

  it('leaves an order cancelled before its stock was reserved as it is', async () => {
    const [book] = await knownProducts(orders, 1);
    const order = await place([{ productId: book!, quantity: 1 }]);
    const cancelled = await call(transition('cancelOrder'), { id: order.id }, ann);
    assert.equal(cancelled.data?.cancelOrder.status, 'CANCELLED');
    const reserved = stockReserved(order.id, [{ productId: book!, quantity: 1, amount: 500 }]);
    await publishInventory(orders, reserved);
    await eventually(async () => (await orders.db.processedEvent.count({ where: { eventId: reserved.id } })) === 1);
    const read = (await call(ORDER, { id: order.id }, ann)).data!.order;
    assert.equal(read.status, 'CANCELLED');
    assert.equal(read.total, null);
    assert.deepEqual(
      read.statusHistory.map((h: { sequence: number }) => h.sequence),
      [1, 2],
    );
  });

  it('rejects an order whose reserved prices are in more than one currency', async () => {
    const [book, pen] = await knownProducts(orders, 2);
    const order = await place([
      { productId: book!, quantity: 1 },
      { productId: pen!, quantity: 1 },
    ]);
    await publishInventory(
      orders,
      stockReserved(order.id, [
        { productId: book!, quantity: 1, amount: 500, currency: 'EUR' },
        { productId: pen!, quantity: 1, amount: 500, currency: 'USD' },
      ]),
    );
    await waitForStatus(orders, order.id, 'REJECTED');
    const read = (await call(ORDER, { id: order.id }, ann)).data!.order;
    assert.match(read.statusHistory[1].reason, /more than one currency/);
    assert.equal(read.total, null);
  });

  it('walks CONFIRMED → PAID → SHIPPED → DELIVERED with sequences 1..n and one event per step', async () => {
    const [book] = await knownProducts(orders, 1);
    const order = await place([{ productId: book!, quantity: 1 }]);
    await publishInventory(orders, stockReserved(order.id, [{ productId: book!, quantity: 1, amount: 900 }]));
    await waitForStatus(orders, order.id, 'CONFIRMED');

    assert.equal((await call(transition('payOrder'), { id: order.id }, ann)).data?.payOrder.status, 'PAID');
    assert.equal((await call(transition('shipOrder'), { id: order.id }, clerk)).data?.shipOrder.status, 'SHIPPED');
    const delivered = (await call(transition('deliverOrder'), { id: order.id }, clerk)).data?.deliverOrder;
    assert.equal(delivered.status, 'DELIVERED');
    assert.deepEqual(
      delivered.statusHistory.map((h: { status: string; sequence: number }) => `${h.sequence}:${h.status}`),
      ['1:PENDING', '2:CONFIRMED', '3:PAID', '4:SHIPPED', '5:DELIVERED'],
    );

    const statusEvents = await eventually(
      () => {
        const found = eventsOf(order.id).filter((e) => e.type !== 'OrderPlaced');
        return found.length === 4 ? found : undefined;
      },
      15_000,
      'four status events',
    );
    assert.deepEqual(
      statusEvents.map((e) => [e.type, (e.data as { sequence: number }).sequence]),
      [
        ['OrderConfirmed', 2],
        ['OrderPaid', 3],
        ['OrderShipped', 4],
        ['OrderDelivered', 5],
      ],
    );
    const version = (await orders.db.order.findUniqueOrThrow({ where: { id: order.id } })).version;
    assert.equal(version, 5);
  });

  it('records products from ProductUpdated too, and ignores inventory events it has no use for', async () => {
    const productId = crypto.randomUUID();
    await publishInventory(
      orders,
      createEvent('products', 'StockReleased', crypto.randomUUID(), { orderId: crypto.randomUUID() }),
      createEvent('products', 'ProductUpdated', productId, {
        productId,
        sku: 'X',
        name: 'X',
        price: { amount: 1, currency: 'EUR' },
        stockLevel: 0,
      }),
    );
    await eventually(async () => Boolean(await orders.db.knownProduct.findUnique({ where: { id: productId } })));
  });

  it('sends an event version it does not understand to the dead-letter topic instead of misreading it', async () => {
    const letters: string[] = [];
    const handle = await orders.bus.consume({
      groupId: `test-dlq-${crypto.randomUUID()}`,
      topics: [deadLetterTopic(TOPICS.inventoryEvents)],
      handler: async ({ event }) => void letters.push((event.data as { event: { id: string } }).event.id),
    });
    try {
      const orderId = crypto.randomUUID();
      const future = createEvent('products', 'StockReserved', orderId, { orderId, allocations: [] }, { version: 2 });
      await publishInventory(orders, future);
      await eventually(() => letters.includes(future.id), 20_000, 'dead letter');
    } finally {
      await handle.stop();
    }
  });
});
