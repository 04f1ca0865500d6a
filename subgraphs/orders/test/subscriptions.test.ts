import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signConnection, signSubscription, type Identity } from '@storefront/platform/auth';
import { openDatabase, type Database } from '@storefront/platform/db';
import { MemoryEventBus } from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import {
  connectSubgraph,
  eventually,
  serviceTestEnv,
  subgraphCaller,
  type SubgraphSocket,
  type TestSubscription,
} from '@storefront/platform/testing';
import { loadOrdersConfig, startOrders } from '../src/index.ts';
import {
  customer,
  knownProducts,
  PLACE_ORDER,
  publishInventory,
  staff,
  startTestOrders,
  stockReserved,
  transition,
  waitForStatus,
  type Orders,
} from './helpers.ts';

const STATUS_CHANGED = `subscription($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, after: $after) {
    id status version user { id } total { amount currency } items { quantity unitPrice { amount } } statusHistory { status sequence }
  }
}`;
const MY_UPDATES = `subscription { myOrderUpdates { id status version user { id } } }`;

type Pushed = { id: string; status: string; version: number; statusHistory: { status: string; sequence: number }[] };
const statuses = (sub: TestSubscription, field = 'orderStatusChanged') =>
  sub.results.map((r) => {
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const order = r.data![field] as Pushed;
    return `${order.status}@${order.version}`;
  });
const codeOf = (sub: TestSubscription) => sub.results[0]?.errors?.[0]?.extensions?.code;
const errorCodeOf = (sub: TestSubscription) =>
  (sub.error as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;
const encodeIdentity = (identity: Identity) =>
  Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString('base64url');

describe('orders: subscriptions over graphql-ws', { timeout: 240_000 }, () => {
  let orders: Orders;
  let socket: SubgraphSocket;
  let product: string;
  const ann = customer();
  const bob = customer();
  const clerk = staff();

  before(async () => {
    orders = await startTestOrders();
    socket = connectSubgraph(orders);
    [product] = (await knownProducts(orders, 1)) as [string];
  });
  after(async () => {
    await socket.close();
    await orders.stop();
  });

  const place = async (who: Identity = ann, service: Orders = orders): Promise<string> => {
    const res = await subgraphCaller(service)(
      PLACE_ORDER,
      { input: { items: [{ productId: product, quantity: 2 }] }, key: randomUUID() },
      who,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!.placeOrder.id;
  };
  const confirm = async (id: string, service: Orders = orders) => {
    await publishInventory(service, stockReserved(id, [{ productId: product, quantity: 2, amount: 450 }]));
    await waitForStatus(service, id, 'CONFIRMED');
  };
  const move = async (name: Parameters<typeof transition>[0], id: string, who: Identity, service: Orders = orders) => {
    const res = await subgraphCaller(service)(transition(name), { id }, who);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  };
  const subscribed = (count: number, service: Orders = orders) =>
    eventually(() => service.activeSubscriptions() === count, 20_000, `${count} open subscriptions`);

  describe('who may connect and subscribe', () => {
    it('closes a connection without the gateway’s signature with 4403', async () => {
      for (const connectionParams of [
        {},
        { timestamp: String(Date.now()), signature: 'forged' },
        signConnection('another-secret-0123456789'),
      ]) {
        const stranger = connectSubgraph(orders, { connectionParams });
        const sub = stranger.subscribe(STATUS_CHANGED, { id: randomUUID() }, ann);
        await sub.ended;
        assert.equal((sub.error as { code?: number }).code, 4403, JSON.stringify(connectionParams));
        assert.deepEqual(sub.results, []);
        await stranger.close();
      }
    });

    it('refuses unsigned and forged operations with UNAUTHENTICATED and sends no events', async () => {
      const id = await place();
      const variables = { id, after: 0 };
      const forgedIdentity = {
        ...signSubscription('test-subgraph-secret-0123456789', { query: STATUS_CHANGED, variables }, bob),
        identity: encodeIdentity(ann),
      };
      const attempts = [
        {},
        { storefront: { timestamp: String(Date.now()), signature: 'nope', identity: encodeIdentity(ann) } },
        { storefront: signSubscription('another-secret-0123456789', { query: STATUS_CHANGED, variables }, ann) },
        // Signed for bob, presented as ann.
        { storefront: forgedIdentity },
        // Signed for another order, replayed onto this one.
        {
          storefront: signSubscription(
            'test-subgraph-secret-0123456789',
            { query: STATUS_CHANGED, variables: { id: randomUUID(), after: 0 } },
            ann,
          ),
        },
        // Too old.
        {
          storefront: signSubscription(
            'test-subgraph-secret-0123456789',
            { query: STATUS_CHANGED, variables },
            ann,
            Date.now() - 120_000,
          ),
        },
      ];
      const subs = attempts.map((extensions) => socket.subscribe(STATUS_CHANGED, variables, ann, { extensions }));
      await Promise.all(subs.map((s) => s.ended));
      for (const sub of subs) {
        assert.equal(errorCodeOf(sub), 'UNAUTHENTICATED', JSON.stringify(sub.error));
        assert.deepEqual(sub.results, []);
      }
      assert.equal(orders.activeSubscriptions(), 0);
      assert.equal(orders.liveFeed!.listenerCount(), 0);
    });

    it('refuses another customer’s order (FORBIDDEN), unknown ids (NOT_FOUND), bad input (BAD_USER_INPUT) and anonymous callers', async () => {
      const id = await place();
      const cases: [Record<string, unknown>, Identity | null, string][] = [
        [{ id }, bob, 'FORBIDDEN'],
        [{ id: randomUUID() }, ann, 'NOT_FOUND'],
        [{ id: 'not-an-id' }, ann, 'BAD_USER_INPUT'],
        [{ id, after: -1 }, ann, 'BAD_USER_INPUT'],
        [{ id }, null, 'UNAUTHENTICATED'],
      ];
      const subs = cases.map(([variables, who]) => socket.subscribe(STATUS_CHANGED, variables, who));
      await Promise.all(subs.map((s) => s.ended));
      cases.forEach(([variables, who, code], i) => {
        const sub = subs[i]!;
        assert.equal(
          codeOf(sub),
          code,
          `${JSON.stringify(variables)} as ${who?.userId ?? 'anonymous'}: ${JSON.stringify(sub.results)}`,
        );
        assert.equal(sub.results.length, 1);
        assert.equal(sub.results[0]!.data ?? null, null);
      });

      // A non-integer `after` is refused before anything runs.
      const malformed = socket.subscribe(STATUS_CHANGED, { id, after: 'two' }, ann);
      await malformed.ended;
      assert.equal(errorCodeOf(malformed), 'BAD_USER_INPUT', JSON.stringify(malformed.error));

      // The refused customer gets nothing when the order moves on.
      const refused = socket.subscribe(STATUS_CHANGED, { id, after: 0 }, bob);
      await refused.ended;
      await confirm(id);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(refused.results.length, 1);
      assert.equal(orders.activeSubscriptions(), 0);
    });

    it('serves only subscriptions over the socket', async () => {
      const query = `query($id: ID!) { order(id: $id) { id } }`;
      const sub = socket.subscribe(query, { id: randomUUID() }, ann);
      await sub.ended;
      assert.equal(errorCodeOf(sub), 'BAD_REQUEST');
    });
  });

  describe('orderStatusChanged', () => {
    it('pushes CONFIRMED → PAID → SHIPPED → DELIVERED to the owner and staff, in order, each with its version, then completes', async () => {
      const id = await place();
      const mine = socket.subscribe(STATUS_CHANGED, { id }, ann);
      const clerks = socket.subscribe(STATUS_CHANGED, { id }, clerk);
      await subscribed(2);

      await confirm(id);
      await mine.waitFor(1);
      await move('payOrder', id, ann);
      await mine.waitFor(2);
      await move('shipOrder', id, clerk);
      await move('deliverOrder', id, clerk);
      await Promise.all([mine.ended, clerks.ended]);

      for (const sub of [mine, clerks]) {
        assert.equal(sub.error, undefined);
        assert.deepEqual(statuses(sub), ['CONFIRMED@2', 'PAID@3', 'SHIPPED@4', 'DELIVERED@5']);
      }
      const first = mine.results[0]!.data!.orderStatusChanged;
      assert.equal(first.id, id);
      assert.equal(first.user.id, ann.userId);
      assert.deepEqual(first.total, { amount: 900, currency: 'EUR' });
      assert.deepEqual(first.items, [{ quantity: 2, unitPrice: { amount: 450 } }]);
      // Each value is the order as of its event, even if the order moved on before it was pushed.
      assert.deepEqual(
        mine.results.map((r) => (r.data!.orderStatusChanged as Pushed).statusHistory.map((h) => h.sequence).at(-1)),
        [2, 3, 4, 5],
      );
      await subscribed(0);
    });

    it('resumes with `after`: a client that dropped after PAID gets SHIPPED and DELIVERED exactly once', async () => {
      const id = await place();
      await confirm(id);
      const first = socket.subscribe(STATUS_CHANGED, { id, after: 1 }, ann);
      await first.waitFor(1); // CONFIRMED, from the history
      await move('payOrder', id, ann);
      await first.waitFor(2);
      const lastSeen = (first.results[1]!.data!.orderStatusChanged as Pushed).version;
      assert.deepEqual(statuses(first), ['CONFIRMED@2', 'PAID@3']);
      first.unsubscribe();
      await subscribed(0);

      await move('shipOrder', id, clerk); // missed while away
      const resumed = socket.subscribe(STATUS_CHANGED, { id, after: lastSeen }, ann);
      await resumed.waitFor(1);
      await move('deliverOrder', id, clerk); // live
      await resumed.ended;
      assert.equal(resumed.error, undefined);
      assert.deepEqual(statuses(resumed), ['SHIPPED@4', 'DELIVERED@5']);

      // Resuming a finished order replays what is left and completes at once.
      const late = socket.subscribe(STATUS_CHANGED, { id, after: 3 }, ann);
      await late.ended;
      assert.deepEqual(statuses(late), ['SHIPPED@4', 'DELIVERED@5']);
      const done = socket.subscribe(STATUS_CHANGED, { id }, ann);
      await done.ended;
      assert.deepEqual(done.results, []);
    });

    it('has no gap and no duplicate when changes happen while it subscribes', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await place();
        const sub = socket.subscribe(STATUS_CHANGED, { id, after: 1 }, ann);
        // No waiting: the changes race the subscription's history read.
        await confirm(id);
        await move('payOrder', id, ann);
        await move('cancelOrder', id, clerk);
        await sub.ended;
        assert.deepEqual(statuses(sub), ['CONFIRMED@2', 'PAID@3', 'CANCELLED@4']);
      }
    });
  });

  describe('myOrderUpdates', () => {
    it('pushes every order event of the caller and nobody else’s', async () => {
      const anns = socket.subscribe(MY_UPDATES, {}, ann);
      const bobs = socket.subscribe(MY_UPDATES, {}, bob);
      const anonymous = socket.subscribe(MY_UPDATES, {}, null);
      await anonymous.ended;
      assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
      await subscribed(2);

      const annsOrder = await place(ann);
      const bobsOrder = await place(bob);
      await confirm(annsOrder);
      await confirm(bobsOrder);
      await move('payOrder', annsOrder, ann);
      await anns.waitFor(3);
      await bobs.waitFor(2);
      await new Promise((r) => setTimeout(r, 300));

      const ids = (sub: TestSubscription) => sub.results.map((r) => r.data!.myOrderUpdates.id);
      assert.deepEqual(statuses(anns, 'myOrderUpdates'), ['PENDING@1', 'CONFIRMED@2', 'PAID@3']);
      assert.deepEqual(ids(anns), [annsOrder, annsOrder, annsOrder]);
      assert.deepEqual(statuses(bobs, 'myOrderUpdates'), ['PENDING@1', 'CONFIRMED@2']);
      assert.deepEqual(ids(bobs), [bobsOrder, bobsOrder]);
      assert.ok(anns.results.every((r) => r.data!.myOrderUpdates.user.id === ann.userId));
      anns.unsubscribe();
      bobs.unsubscribe();
      await subscribed(0);
    });
  });

  describe('leaving', () => {
    it('leaves no open operation and no live-feed listener after 200 subscribe/complete cycles', async () => {
      const id = await place();
      for (let i = 0; i < 200; i++) {
        const sub =
          i % 2 === 0 ? socket.subscribe(STATUS_CHANGED, { id, after: 0 }, ann) : socket.subscribe(MY_UPDATES, {}, ann);
        // Some leave while the server is still subscribing, some once it is live.
        if (i % 20 === 0) await eventually(() => orders.activeSubscriptions() >= 1, 20_000, 'subscribed');
        sub.unsubscribe();
      }
      await subscribed(0);
      await eventually(() => orders.liveFeed!.listenerCount() === 0, 10_000, 'no live-feed listeners');
    });

    it('ends every operation of a socket that closes', async () => {
      const id = await place();
      const leaving = connectSubgraph(orders);
      for (let i = 0; i < 20; i++) leaving.subscribe(i % 2 ? MY_UPDATES : STATUS_CHANGED, i % 2 ? {} : { id }, ann);
      await subscribed(20);
      assert.equal(orders.liveFeed!.listenerCount(), 20);
      await leaving.close();
      await subscribed(0);
      await eventually(() => orders.liveFeed!.listenerCount() === 0, 10_000, 'no live-feed listeners');
    });
  });

  describe('several instances', () => {
    it('each instance delivers every event to its own subscribers', async () => {
      // Two instances of orders on one database and one bus, as in production behind a load balancer.
      const env = await serviceTestEnv();
      const config = loadOrdersConfig(env);
      // The embedded database cannot be opened twice: the instances share one opened here (and an in-process bus).
      const shared: { bus?: MemoryEventBus; database?: Database } = config.DATABASE_URL
        ? {}
        : {
            bus: new MemoryEventBus(createLogger({ name: 'test', level: 'silent' })),
            database: await openDatabase({ schema: 'orders' }),
          };
      const one = await startOrders(config, shared);
      const two = await startOrders(config, shared);
      const sockets = [connectSubgraph(one), connectSubgraph(two)];
      try {
        assert.notEqual(one.liveFeed!.groupId, two.liveFeed!.groupId);
        await knownProductsOn(one);
        const feeds = sockets.map((s) => s.subscribe(MY_UPDATES, {}, ann));
        await subscribed(1, one);
        await subscribed(1, two);
        const id = await place(ann, one);
        const watchers = sockets.map((s) => s.subscribe(STATUS_CHANGED, { id }, ann));
        await subscribed(2, one);
        await subscribed(2, two);

        await confirm(id, one);
        await move('payOrder', id, ann, two);
        await move('shipOrder', id, clerk, one);
        await move('deliverOrder', id, clerk, two);
        await Promise.all(watchers.map((w) => w.ended));
        for (const watcher of watchers)
          assert.deepEqual(statuses(watcher), ['CONFIRMED@2', 'PAID@3', 'SHIPPED@4', 'DELIVERED@5']);
        for (const feed of feeds) {
          await feed.waitFor(5);
          assert.deepEqual(statuses(feed, 'myOrderUpdates'), [
            'PENDING@1',
            'CONFIRMED@2',
            'PAID@3',
            'SHIPPED@4',
            'DELIVERED@5',
          ]);
        }
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
        await two.stop();
        await one.stop();
        await shared.bus?.close();
        await shared.database?.close();
      }
    });
  });

  /** The product must be known to the instances' database; one of them recording it is enough. */
  async function knownProductsOn(service: Orders): Promise<void> {
    const ids = await knownProducts(service, 1);
    product = ids[0]!;
  }
});
