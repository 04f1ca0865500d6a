import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEvent, TOPICS } from '@storefront/platform/events';
import { eventually } from '@storefront/platform/testing';
import {
  EVENT_TIMEOUT_MS,
  eventsFor,
  orderCancelled,
  orderPlaced,
  startProductsHarness,
  type ProductsHarness,
} from './harness.ts';

/** The products side of the order saga: reserve on OrderPlaced, release on OrderCancelled or OrderRejected. */
describe('products: stock reservations', { timeout: 180_000 }, () => {
  let h: ProductsHarness;
  let categoryId: string;

  before(async () => {
    h = await startProductsHarness();
    categoryId = (await h.createCategory('Saga')).id;
  });
  after(() => h?.stop());

  const product = (stockLevel: number, amount = 1000) =>
    h.createProduct({ categoryId, stockLevel, price: { amount, currency: 'USD' } }).then((p) => p.id);

  const outcome = (orderId: string) =>
    eventually(
      () => eventsFor(h.published, orderId).find((e) => e.type === 'StockReserved' || e.type === 'StockRejected'),
      EVENT_TIMEOUT_MS,
      `stock outcome of ${orderId}`,
    );

  it('reserves every line at the catalog price and decrements stock', async () => {
    const [a, b] = [await product(5, 1999), await product(3, 250)];
    const event = orderPlaced([
      { productId: a, quantity: 2 },
      { productId: b, quantity: 3 },
    ]);
    await h.deliver(event);

    const reserved = await outcome(event.aggregateId);
    assert.equal(reserved.type, 'StockReserved');
    const lines = (reserved.data as { orderId: string; lines: { productId: string }[] }).lines;
    assert.equal((reserved.data as { orderId: string }).orderId, event.aggregateId);
    assert.deepEqual(
      [...lines].sort((x, y) => (x.productId < y.productId ? -1 : 1)),
      [
        { productId: a, quantity: 2, unitPrice: { amount: 1999, currency: 'USD' } },
        { productId: b, quantity: 3, unitPrice: { amount: 250, currency: 'USD' } },
      ].sort((x, y) => (x.productId < y.productId ? -1 : 1)),
    );
    assert.equal(await h.stockOf(a), 3);
    assert.equal(await h.stockOf(b), 0);
    const reservation = await h.runtime.db.stockReservation.findUniqueOrThrow({
      where: { orderId: event.aggregateId },
    });
    assert.equal(reservation.status, 'RESERVED');
  });

  it('reserves nothing when one line is short, and says which and how many are available', async () => {
    const [plenty, scarce] = [await product(10), await product(1)];
    const event = orderPlaced([
      { productId: plenty, quantity: 4 },
      { productId: scarce, quantity: 2 },
    ]);
    await h.deliver(event);

    const rejected = await outcome(event.aggregateId);
    assert.equal(rejected.type, 'StockRejected');
    const data = rejected.data as { reason: string; unavailable: unknown[] };
    assert.deepEqual(data.unavailable, [{ productId: scarce, requested: 2, available: 1 }]);
    assert.match(data.reason, /\(2 requested, 1 in stock\)/);
    assert.equal(await h.stockOf(plenty), 10);
    assert.equal(await h.stockOf(scarce), 1);
    assert.equal(await h.runtime.db.stockReservation.count({ where: { orderId: event.aggregateId } }), 0);
  });

  it('rejects an order for an unknown or malformed product id, with nothing available', async () => {
    const known = await product(10);
    const ghost = randomUUID();
    const event = orderPlaced([
      { productId: known, quantity: 1 },
      { productId: ghost, quantity: 1 },
      { productId: 'not-a-uuid', quantity: 1 },
    ]);
    await h.deliver(event);
    const rejected = await outcome(event.aggregateId);
    assert.equal(rejected.type, 'StockRejected');
    const unavailable = (rejected.data as { unavailable: { productId: string; available: number }[] }).unavailable;
    assert.deepEqual(new Set(unavailable.map((u) => u.productId)), new Set([ghost, 'not-a-uuid']));
    assert.ok(unavailable.every((u) => u.available === 0));
    assert.equal(await h.stockOf(known), 10);
  });

  it('reserves once however often the bus delivers the same OrderPlaced', async () => {
    const id = await product(5);
    const event = orderPlaced([{ productId: id, quantity: 2 }]);
    // Twice in a row, then twice at the same moment.
    await h.deliver(event);
    await h.deliver(event);
    await Promise.all([h.deliver(event), h.deliver(event)]);
    await outcome(event.aggregateId);
    assert.equal(await h.stockOf(id), 3);

    // And through the bus: the same envelope published twice, then a cancellation behind it on the same key.
    const viaBus = orderPlaced([{ productId: id, quantity: 1 }]);
    await h.service.bus.ensureTopics([TOPICS.orderEvents]);
    await h.service.bus.publish(TOPICS.orderEvents, [viaBus]);
    await h.service.bus.publish(TOPICS.orderEvents, [viaBus]);
    await outcome(viaBus.aggregateId);
    await h.service.bus.publish(TOPICS.orderEvents, [orderCancelled(viaBus.aggregateId)]);
    await eventually(
      () => eventsFor(h.published, viaBus.aggregateId, 'StockReleased')[0],
      EVENT_TIMEOUT_MS,
      'StockReleased',
    );

    // Give any stray duplicate time to surface before counting.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(eventsFor(h.published, event.aggregateId, 'StockReserved').length, 1);
    assert.equal(eventsFor(h.published, viaBus.aggregateId, 'StockReserved').length, 1);
    assert.equal(eventsFor(h.published, viaBus.aggregateId, 'StockReleased').length, 1);
    assert.equal(await h.stockOf(id), 3);
  });

  it("releases a cancelled order's stock exactly once", async () => {
    const [a, b] = [await product(4), await product(4)];
    const placed = orderPlaced([
      { productId: a, quantity: 3 },
      { productId: b, quantity: 1 },
    ]);
    await h.deliver(placed);
    assert.equal(await h.stockOf(a), 1);

    const cancelled = orderCancelled(placed.aggregateId);
    await h.deliver(cancelled);
    await h.deliver(cancelled); // redelivery
    await Promise.all([h.deliver(orderCancelled(placed.aggregateId)), h.deliver(orderCancelled(placed.aggregateId))]); // new envelopes, racing
    await eventually(
      () => eventsFor(h.published, placed.aggregateId, 'StockReleased')[0],
      EVENT_TIMEOUT_MS,
      'StockReleased',
    );
    await new Promise((r) => setTimeout(r, 300));

    assert.equal(await h.stockOf(a), 4);
    assert.equal(await h.stockOf(b), 4);
    assert.equal(eventsFor(h.published, placed.aggregateId, 'StockReleased').length, 1);
    const reservation = await h.runtime.db.stockReservation.findUniqueOrThrow({
      where: { orderId: placed.aggregateId },
    });
    assert.equal(reservation.status, 'RELEASED');
    assert.ok(reservation.releasedAt);
  });

  it('announces a product running out and coming back (ProductAvailabilityChanged), and no other stock movement', async () => {
    const [lastUnits, plenty] = [await product(2), await product(10)];
    const placed = orderPlaced([
      { productId: lastUnits, quantity: 2 },
      { productId: plenty, quantity: 3 },
    ]);
    await h.deliver(placed);
    await outcome(placed.aggregateId);
    const soldOut = await eventually(
      () => eventsFor(h.published, lastUnits, 'ProductAvailabilityChanged')[0],
      EVENT_TIMEOUT_MS,
      'sold out',
    );
    assert.deepEqual(soldOut.data, { productId: lastUnits, inStock: false });

    await h.deliver(orderCancelled(placed.aggregateId));
    await eventually(
      () => eventsFor(h.published, lastUnits, 'ProductAvailabilityChanged')[1],
      EVENT_TIMEOUT_MS,
      'back in stock',
    );
    assert.deepEqual(
      eventsFor(h.published, lastUnits, 'ProductAvailabilityChanged').map((e) => e.data),
      [
        { productId: lastUnits, inStock: false },
        { productId: lastUnits, inStock: true },
      ],
    );
    // 10 → 7 → 10: in stock throughout, nothing to announce.
    assert.equal(await h.stockOf(plenty), 10);
    assert.deepEqual(eventsFor(h.published, plenty, 'ProductAvailabilityChanged'), []);
  });

  it('releases the stock of an order that orders rejected after it was reserved', async () => {
    const a = await product(2);
    const placed = orderPlaced([{ productId: a, quantity: 2 }]);
    await h.deliver(placed);
    assert.equal(await h.stockOf(a), 0);
    await h.deliver(
      createEvent('orders', 'OrderRejected', placed.aggregateId, {
        orderId: placed.aggregateId,
        status: 'REJECTED',
        sequence: 2,
        at: new Date().toISOString(),
        reason: 'Order total cannot be priced',
      }),
    );
    await eventually(
      () => eventsFor(h.published, placed.aggregateId, 'StockReleased')[0],
      EVENT_TIMEOUT_MS,
      'StockReleased',
    );
    assert.equal(await h.stockOf(a), 2);
  });

  it('ignores cancellations of orders it never reserved, and other order events', async () => {
    const id = await product(2);
    const rejected = orderPlaced([{ productId: id, quantity: 5 }]);
    await h.deliver(rejected);
    await h.deliver(orderCancelled(rejected.aggregateId));
    const paid = createEvent('orders', 'OrderPaid', rejected.aggregateId, {
      orderId: rejected.aggregateId,
      status: 'PAID',
    });
    await h.deliver(paid);
    await h.deliver(orderCancelled(randomUUID()));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await h.stockOf(id), 2);
    assert.deepEqual(
      eventsFor(h.published, rejected.aggregateId).map((e) => e.type),
      ['StockRejected'],
    );
  });

  it('throws an OrderPlaced it cannot read back to the bus (retry, then dead letter)', async () => {
    const malformed = createEvent('orders', 'OrderPlaced', randomUUID(), { orderId: 'x', items: [] });
    await assert.rejects(h.deliver(malformed), /malformed/);
    const future = { ...orderPlaced([{ productId: randomUUID(), quantity: 1 }]), version: 2 };
    await assert.rejects(h.deliver(future), /version 2/);
  });

  it('gives the last unit to exactly one of two racing orders', async () => {
    const id = await product(1);
    const first = orderPlaced([{ productId: id, quantity: 1 }]);
    const second = orderPlaced([{ productId: id, quantity: 1 }]);
    await Promise.all([h.deliver(first), h.deliver(second)]);
    const outcomes = [await outcome(first.aggregateId), await outcome(second.aggregateId)].map((e) => e.type).sort();
    assert.deepEqual(outcomes, ['StockRejected', 'StockReserved']);
    assert.equal(await h.stockOf(id), 0);
  });

  it('serves many racing orders over shared products without overselling or deadlocking', async () => {
    const [a, b] = [await product(3), await product(3)];
    // Half the orders list the products in one order, half in the other: locking in id order keeps them from deadlocking.
    const orders = Array.from({ length: 8 }, (_, i) =>
      orderPlaced(
        i % 2
          ? [
              { productId: a, quantity: 1 },
              { productId: b, quantity: 1 },
            ]
          : [
              { productId: b, quantity: 1 },
              { productId: a, quantity: 1 },
            ],
      ),
    );
    await Promise.all(orders.map((o) => h.deliver(o)));
    const types = await Promise.all(orders.map((o) => outcome(o.aggregateId).then((e) => e.type)));
    assert.equal(types.filter((t) => t === 'StockReserved').length, 3);
    assert.equal(types.filter((t) => t === 'StockRejected').length, 5);
    assert.equal(await h.stockOf(a), 0);
    assert.equal(await h.stockOf(b), 0);
  });
});
