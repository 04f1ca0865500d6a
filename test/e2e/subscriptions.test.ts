import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { eventually, freePort, type SubscriptionResult, type TestSubscription } from '@storefront/platform/testing';
import { createLogger } from '@storefront/platform/logger';
import type { RunningGateway } from '@storefront/gateway';
import { loadOrdersConfig, startOrders } from '@storefront/orders';
import { connectGateway, signAccessToken, startExtraGateway, type GatewaySocket } from '../support/gateway-socket.ts';
import { besideDependencies, startStack, type Stack } from '../support/stack.ts';

/**
 * Federated subscriptions end to end: real graphql-ws clients on the
 * gateway's socket, the orders service pushing from Kafka, every event
 * completed with fields from users and products, on PostgreSQL and Kafka
 * when the test command provides them.
 */
const STATUS = `subscription($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, after: $after) {
    id status version
    user { name }
    items { quantity product { name } }
  }
}`;
const MY_ORDERS = `subscription { myOrderUpdates { id status } }`;
const PLACE = `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`;

type StatusEvent = {
  orderStatusChanged: {
    id: string;
    status: string;
    version: number;
    user: { name: string };
    items: { quantity: number; product: { name: string } }[];
  };
};

const statuses = (feed: TestSubscription<StatusEvent>) => feed.results.map((r) => r.data?.orderStatusChanged.status);
const versions = (feed: TestSubscription<StatusEvent>) => feed.results.map((r) => r.data?.orderStatusChanged.version);
/** Error codes of an operation, whether pushed as a result or sent as an `error` message. */
const codes = (feed: TestSubscription) =>
  [
    ...feed.results.flatMap((r: SubscriptionResult) => r.errors ?? []),
    ...(Array.isArray(feed.error) ? (feed.error as { extensions?: { code?: string } }[]) : []),
  ].map((e) => e.extensions?.code);

describe('federated subscriptions through the gateway', { timeout: 300_000 }, () => {
  let stack: Stack;
  let admin: string;
  let productId: string;
  let owner: { token: string; userId: string };
  let stranger: { token: string; userId: string };
  const sockets: GatewaySocket[] = [];
  const extraGateways: RunningGateway[] = [];
  const open = (gateway: { url: string }, options: Parameters<typeof connectGateway>[1] = {}) => {
    const socket = connectGateway(gateway, options);
    sockets.push(socket);
    return socket;
  };
  const placeOrder = async (token: string) =>
    (
      await eventually(
        async () =>
          (await stack.query(PLACE, { input: { items: [{ productId, quantity: 1 }] }, key: randomUUID() }, token)).data
            ?.placeOrder,
        30_000,
        'placeOrder to accept the product',
      )
    ).id as string;
  const staff = (mutation: 'shipOrder' | 'deliverOrder', id: string) =>
    stack.query(`mutation($id: ID!) { ${mutation}(id: $id) { status } }`, { id }, admin).then((res) => {
      assert.ok(res.data?.[mutation], JSON.stringify(res.errors));
    });
  const pay = (id: string, token: string) =>
    stack.query(`mutation($id: ID!) { payOrder(id: $id) { status } }`, { id }, token).then((res) => {
      assert.equal(res.data?.payOrder.status, 'PAID', JSON.stringify(res.errors));
    });
  /** Nothing left open upstream, seen from both sides. */
  const noUpstreamLeft = (gateways: RunningGateway[] = [stack.gateway]) =>
    eventually(
      () =>
        stack.services.orders.activeSubscriptions() === 0 &&
        stack.services.notifications.activeSubscriptions() === 0 &&
        gateways.every(
          (g) =>
            g.subscriptions.clientSubscriptions() === 0 &&
            Object.keys(g.subscriptions.upstreamSubscriptions()).length === 0,
        ),
      15_000,
      'every subscription to be released',
    );

  before(async () => {
    stack = await startStack({ gatewayEnv: { WS_CONNECTION_INIT_TIMEOUT_MS: '1000' } });
    admin = await stack.logInAdmin();
    await stack.services.products.seed();
    const categoryId = (await stack.query(`{ categories { id } }`)).data!.categories[0].id;
    const created = await stack.query(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      {
        input: {
          sku: `SKU-${randomUUID().slice(0, 8)}`,
          name: 'Desk Lamp',
          description: 'Warm light',
          price: { amount: 2500, currency: 'USD' },
          categoryId,
          stockLevel: 1000,
        },
      },
      admin,
    );
    productId = created.data!.createProduct.id;
    owner = await stack.signUp('Grace Hopper');
    stranger = await stack.signUp('Eve Stranger');
  });
  after(async () => {
    await Promise.allSettled(sockets.map((s) => s.close()));
    for (const gateway of extraGateways) await gateway.stop();
    await stack?.stop();
  });

  it('(a) pushes CONFIRMED → PAID → SHIPPED → DELIVERED in order, each with user and product names; (b) refuses another customer', async () => {
    const orderId = await placeOrder(owner.token);
    const socket = open(stack.gateway, { token: owner.token });
    // after: 1 (PENDING): CONFIRMED may already have happened by now, and is then replayed from the store.
    const feed = socket.subscribe<StatusEvent>(STATUS, { id: orderId, after: 1 });

    const refused = open(stack.gateway, { token: stranger.token }).subscribe<StatusEvent>(STATUS, { id: orderId });
    await refused.ended;
    assert.deepEqual(codes(refused), ['FORBIDDEN']);
    assert.equal(
      refused.results.some((r) => r.data?.orderStatusChanged),
      false,
      'no event for the stranger',
    );

    await feed.waitFor(1);
    // A mutation over the same socket, through the same pipeline as HTTP.
    const paid = await socket.execute<{ payOrder: { status: string } }>(
      `mutation($id: ID!) { payOrder(id: $id) { status } }`,
      { id: orderId },
    );
    assert.equal(paid.data?.payOrder.status, 'PAID', JSON.stringify(paid.errors));
    await feed.waitFor(2);
    await staff('shipOrder', orderId);
    await feed.waitFor(3);
    await staff('deliverOrder', orderId);
    await feed.ended; // DELIVERED is final: the subscription completes

    assert.equal(feed.error, undefined);
    assert.deepEqual(statuses(feed), ['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED']);
    assert.deepEqual(versions(feed), [2, 3, 4, 5]);
    for (const { data, errors } of feed.results) {
      assert.equal(errors, undefined, JSON.stringify(errors));
      assert.equal(data!.orderStatusChanged.id, orderId);
      assert.equal(data!.orderStatusChanged.user.name, 'Grace Hopper');
      assert.deepEqual(data!.orderStatusChanged.items, [{ quantity: 1, product: { name: 'Desk Lamp' } }]);
    }
    assert.equal(refused.results.length, 1, 'the stranger heard nothing more');
    await noUpstreamLeft();
  });

  it('(c) a client that drops after PAID and resumes with `after` gets SHIPPED and DELIVERED exactly once', async () => {
    const orderId = await placeOrder(owner.token);
    const first = open(stack.gateway, { token: owner.token });
    const before = first.subscribe<StatusEvent>(STATUS, { id: orderId, after: 1 });
    await before.waitFor(1);
    await pay(orderId, owner.token);
    await before.waitFor(2);
    const last = before.results.at(-1)!.data!.orderStatusChanged.version;

    first.drop(); // no close handshake: the gateway notices a dead TCP connection
    await first.closed;
    await staff('shipOrder', orderId); // while the client is away

    const second = open(stack.gateway, { token: owner.token });
    const resumed = second.subscribe<StatusEvent>(STATUS, { id: orderId, after: last });
    await resumed.waitFor(1);
    await staff('deliverOrder', orderId);
    await resumed.ended;

    assert.deepEqual(statuses(before), ['CONFIRMED', 'PAID']);
    assert.deepEqual(statuses(resumed), ['SHIPPED', 'DELIVERED']);
    assert.deepEqual(versions(resumed), [last + 1, last + 2]);
    assert.equal(resumed.results[0]!.data!.orderStatusChanged.user.name, 'Grace Hopper');
    await noUpstreamLeft();
  });

  it('(d) two gateway instances each deliver to their own subscribers', async () => {
    const second = await startExtraGateway(stack);
    extraGateways.push(second);
    const orderId = await placeOrder(owner.token);
    const viaFirst = open(stack.gateway, { token: owner.token }).subscribe<StatusEvent>(STATUS, {
      id: orderId,
      after: 1,
    });
    const viaSecond = open(second, { token: admin }).subscribe<StatusEvent>(STATUS, { id: orderId, after: 1 });
    await Promise.all([viaFirst.waitFor(1), viaSecond.waitFor(1)]);
    // Each instance holds its own upstream subscription for its own subscriber.
    assert.deepEqual(stack.gateway.subscriptions.upstreamSubscriptions(), { orders: 1 });
    assert.deepEqual(second.subscriptions.upstreamSubscriptions(), { orders: 1 });

    await pay(orderId, owner.token);
    await staff('shipOrder', orderId);
    await staff('deliverOrder', orderId);
    await Promise.all([viaFirst.ended, viaSecond.ended]);
    for (const feed of [viaFirst, viaSecond]) {
      assert.deepEqual(statuses(feed), ['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED']);
      assert.ok(feed.results.every((r) => r.data?.orderStatusChanged.user.name === 'Grace Hopper'));
    }
    await noUpstreamLeft([stack.gateway, second]);
  });

  /** Another orders instance on the stack's data and events (embedded: the very same PGlite and bus). */
  const startOrdersInstance = (port = '0') =>
    startOrders(
      loadOrdersConfig({ ...stack.env, ORDERS_PORT: port }),
      besideDependencies(stack.services.orders, createLogger({ name: 'test', level: 'silent' })),
    );

  it('spreads upstream subscriptions over the instances of a subgraph, skipping a dead one; when an instance stops, its subscriptions go on from another', async () => {
    const ordersB = await startOrdersInstance();
    const ordersA = stack.services.orders;
    try {
      // Listed first, so the balancer's first pick: the subscription never reaches it and goes on to a live instance.
      const dead = `http://127.0.0.1:${await freePort()}/graphql`;
      const gateway = await stack.startGateway(
        {},
        { subgraphUrls: { orders: `${dead}, ${ordersA.url}, ${ordersB.url}` } },
      );
      const socket = open(gateway, { token: owner.token });
      const orderIds = [
        await placeOrder(owner.token),
        await placeOrder(owner.token),
        await placeOrder(owner.token),
        await placeOrder(owner.token),
      ];
      const feeds = orderIds.map((id) => socket.subscribe<StatusEvent>(STATUS, { id, after: 1 }));
      await Promise.all(feeds.map((feed) => feed.waitFor(1)));
      for (const feed of feeds) assert.deepEqual(statuses(feed), ['CONFIRMED'], JSON.stringify(feed.results));
      assert.deepEqual(gateway.subscriptions.upstreamSubscriptions(), { orders: 4 });
      const onB = ordersB.activeSubscriptions();
      assert.ok(
        onB > 0 && ordersA.activeSubscriptions() > 0,
        `spread over both live instances: A ${ordersA.activeSubscriptions()}, B ${onB}`,
      );
      assert.equal(ordersA.activeSubscriptions() + onB, 4);

      // Instance B stops: the gateway subscribes again on A from each order's last version; the clients notice nothing.
      await ordersB.stop();
      await eventually(() => ordersA.activeSubscriptions() === 4, 15_000, 'B’s subscriptions to go on from A');
      for (const id of orderIds) await pay(id, owner.token);
      await Promise.all(
        feeds.map((feed) => eventually(() => statuses(feed).includes('PAID'), 30_000, 'PAID to arrive')),
      );
      for (const feed of feeds) {
        assert.equal(feed.isEnded(), false, JSON.stringify(feed.error));
        assert.deepEqual(statuses(feed), ['CONFIRMED', 'PAID'], 'nothing missed, nothing repeated');
      }
      await socket.close();
      await noUpstreamLeft([gateway]);
    } finally {
      await ordersB.stop().catch(() => {});
    }
  });

  it('the only instance restarts: order status resumes with what happened meanwhile; a feed that cannot resume says SUBSCRIPTION_INTERRUPTED', async () => {
    let orders = await startOrdersInstance();
    const port = String(orders.port);
    try {
      // Enough reconnection attempts to outlast the restart on a busy machine.
      const gateway = await stack.startGateway(
        { UPSTREAM_WS_RETRY_ATTEMPTS: '8' },
        { subgraphUrls: { orders: orders.url } },
      );
      const socket = open(gateway, { token: owner.token });
      const orderId = await placeOrder(owner.token);
      const status = socket.subscribe<StatusEvent>(STATUS, { id: orderId, after: 1 });
      const mine = socket.subscribe(MY_ORDERS);
      await status.waitFor(1);
      await eventually(() => orders.activeSubscriptions() === 2, 15_000, 'both subscriptions to reach the instance');

      await orders.stop();
      await mine.ended;
      assert.deepEqual(codes(mine), ['SUBSCRIPTION_INTERRUPTED'], 'myOrderUpdates cannot replay: the client is told');
      await pay(orderId, owner.token); // while the instance is away (the stack's own orders instance serves it)
      orders = await startOrdersInstance(port);

      await status.waitFor(2);
      await staff('shipOrder', orderId);
      await status.waitFor(3);
      assert.equal(status.isEnded(), false, JSON.stringify(status.error));
      assert.deepEqual(
        statuses(status),
        ['CONFIRMED', 'PAID', 'SHIPPED'],
        'the change made meanwhile, then live ones, once each',
      );
      assert.deepEqual(versions(status), [2, 3, 4]);
      await socket.close();
      await noUpstreamLeft([gateway]);
    } finally {
      await orders.stop().catch(() => {});
    }
  });

  it('queries and mutations work over the socket, anonymous or signed in; subscriptions that need a user are UNAUTHENTICATED', async () => {
    const anonymous = open(stack.gateway);
    await anonymous.acknowledged;
    const catalogue = await anonymous.execute<{ product: { name: string } }>(
      `query($id: ID!) { product(id: $id) { name } }`,
      { id: productId },
    );
    assert.equal(catalogue.data?.product.name, 'Desk Lamp');
    const mine = anonymous.subscribe(MY_ORDERS);
    await mine.ended;
    assert.deepEqual(codes(mine), ['UNAUTHENTICATED']);

    const signedIn = open(stack.gateway, { token: owner.token });
    const me = await signedIn.execute<{ me: { name: string } }>(`{ me { name } }`);
    assert.equal(me.data?.me.name, 'Grace Hopper');
    // The same validation as over HTTP.
    const invalid = await signedIn.execute(`{ me { nope } }`);
    assert.deepEqual(
      invalid.errors?.map((e) => e.extensions?.code),
      ['GRAPHQL_VALIDATION_FAILED'],
    );
    const syntax = await signedIn.execute(`{ me {`);
    assert.deepEqual(
      syntax.errors?.map((e) => e.extensions?.code),
      ['GRAPHQL_PARSE_FAILED'],
    );
  });

  it('myOrderUpdates pushes each order event of the caller, completed from other subgraphs', async () => {
    const socket = open(stack.gateway, { token: stranger.token });
    const feed = socket.subscribe<{ myOrderUpdates: { id: string; status: string; user: { name: string } } }>(
      `subscription { myOrderUpdates { id status user { name } } }`,
    );
    await eventually(
      () => stack.services.orders.activeSubscriptions() === 1,
      10_000,
      'the subscription to reach orders',
    );
    const orderId = await placeOrder(stranger.token);
    const results = await feed.waitFor(2); // PENDING, then CONFIRMED (or REJECTED)
    assert.deepEqual(
      results.slice(0, 2).map((r) => [r.data?.myOrderUpdates.id, r.data?.myOrderUpdates.status]),
      [
        [orderId, 'PENDING'],
        [orderId, 'CONFIRMED'],
      ],
    );
    assert.equal(results[0]!.data?.myOrderUpdates.user.name, 'Eve Stranger');
    feed.unsubscribe();
    await noUpstreamLeft();
  });

  it('notificationReceived pushes the caller’s new in-app notifications, with their name from users', async () => {
    const customer = await stack.signUp('Nora Notified');
    const socket = open(stack.gateway, { token: customer.token });
    const feed = socket.subscribe<{
      notificationReceived: { subject: string; channel: string; user: { name: string } };
    }>(`subscription { notificationReceived { subject channel user { name } } }`);
    await eventually(
      () => stack.services.notifications.activeSubscriptions() === 1,
      10_000,
      'the subscription to reach notifications',
    );
    try {
      await placeOrder(customer.token); // confirmed by the saga: an in-app "confirmed" notification follows
      const confirmed = await eventually(
        () => feed.results.find((r) => /confirmed/i.test(r.data?.notificationReceived.subject ?? '')),
        30_000,
        'the order-confirmed notification',
      );
      // Possibly after the welcome notification of the sign-up: every one of them is complete.
      for (const { data, errors } of feed.results) {
        assert.equal(errors, undefined, JSON.stringify(errors));
        assert.equal(data?.notificationReceived.user.name, 'Nora Notified');
      }
      assert.equal(confirmed.data?.notificationReceived.channel, 'IN_APP');
    } finally {
      feed.unsubscribe();
    }
    await noUpstreamLeft();
  });

  describe('bad input: clean errors, the server stays healthy', () => {
    it('closes a socket with a bad or malformed token with 4401', async () => {
      for (const connectionParams of [
        { authorization: 'Bearer not.a.token' },
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: 42 },
        { authorization: `Bearer ${owner.token.slice(0, -4)}AAAA` },
      ]) {
        const socket = open(stack.gateway, { connectionParams });
        const { code } = await socket.closed;
        assert.equal(code, 4401, JSON.stringify(connectionParams));
      }
    });

    it('closes the socket with 4401 when the token expires mid-stream, releasing its subscriptions', async () => {
      const token = await signAccessToken(stack, { userId: owner.userId }, 3);
      const socket = open(stack.gateway, { token });
      const feed = socket.subscribe(MY_ORDERS);
      await eventually(
        () => stack.services.orders.activeSubscriptions() === 1,
        10_000,
        'the subscription to reach orders',
      );
      const closed = await socket.closed;
      assert.deepEqual(closed, { code: 4401, reason: 'Token expired' });
      await feed.ended;
      await noUpstreamLeft();
    });

    it('answers an unknown order with NOT_FOUND, and a malformed id or `after` with BAD_USER_INPUT', async () => {
      const socket = open(stack.gateway, { token: owner.token });
      const unknown = socket.subscribe(STATUS, { id: randomUUID() });
      const negative = socket.subscribe(STATUS, { id: randomUUID(), after: -1 });
      const notAnInt = socket.subscribe(STATUS, { id: randomUUID(), after: 'three' });
      const badId = socket.subscribe(STATUS, { id: 'not-an-id' });
      await Promise.all([unknown.ended, negative.ended, notAnInt.ended, badId.ended]);
      assert.deepEqual(codes(unknown), ['NOT_FOUND']);
      assert.deepEqual(codes(negative), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(notAnInt), ['BAD_USER_INPUT']);
      assert.deepEqual(codes(badId), ['BAD_USER_INPUT']);
      // The socket is still fine.
      assert.equal((await socket.execute(`{ me { name } }`)).data?.me.name, 'Grace Hopper');
      await noUpstreamLeft();
    });

    it('refuses more than WS_MAX_OPERATIONS open operations on one socket, and the socket stays usable', async () => {
      const orderId = await placeOrder(owner.token);
      const socket = open(stack.gateway, { token: owner.token });
      const baseline = stack.gateway.subscriptions.clientSubscriptions();
      const feeds = Array.from({ length: 20 }, (_, i) => socket.subscribe(STATUS, { id: orderId, after: 100 + i }));
      const extra = socket.subscribe(STATUS, { id: orderId, after: 200 });
      await extra.ended;
      assert.deepEqual(codes(extra), ['TOO_MANY_OPERATIONS']);
      await eventually(
        () => stack.gateway.subscriptions.clientSubscriptions() === baseline + 20,
        10_000,
        '20 open subscriptions',
      );
      assert.deepEqual(
        codes(await settle(socket.subscribe(`{ me { name } }`))),
        ['TOO_MANY_OPERATIONS'],
        'a query counts too',
      );

      feeds[0]!.unsubscribe();
      assert.equal((await socket.execute(`{ me { name } }`)).data?.me.name, 'Grace Hopper');
      assert.equal(
        feeds.slice(1).some((f) => f.isEnded()),
        false,
      );
      for (const feed of feeds) feed.unsubscribe();
      await noUpstreamLeft();
    });

    it('closes a flooding socket with 1013 (which graphql-ws clients retry), an oversized message with 1009 and a silent one with 4408; the server stays healthy', async () => {
      const flooder = await rawSocket(stack.gateway.url);
      flooder.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${owner.token}` } }));
      await nextMessage(flooder); // connection_ack
      for (let i = 0; i < 500; i++) flooder.send(JSON.stringify({ type: 'ping' }));
      assert.equal((await closeOf(flooder)).code, 1013);

      const oversized = await rawSocket(stack.gateway.url);
      oversized.send(JSON.stringify({ type: 'connection_init', payload: { junk: 'x'.repeat(300 * 1024) } }));
      assert.equal((await closeOf(oversized)).code, 1009);

      const silent = await rawSocket(stack.gateway.url);
      assert.equal((await closeOf(silent)).code, 4408);

      const socket = open(stack.gateway, { token: owner.token });
      assert.equal((await socket.execute(`{ me { name } }`)).data?.me.name, 'Grace Hopper');
      assert.equal((await stack.query(`{ me { name } }`, {}, owner.token)).data?.me.name, 'Grace Hopper');
    });

    it('refuses a subscription sent over HTTP, pointing at the socket', async () => {
      const res = await stack.query(MY_ORDERS, {}, owner.token);
      assert.equal(res.status, 400);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
      assert.match(res.errors[0].message, /WebSocket/);
    });
  });

  it(
    '(f) 1,000 clients subscribing and then disconnecting leave zero upstream subscriptions on the subgraph',
    { timeout: 180_000 },
    async () => {
      // One user opening a thousand subscriptions in seconds is, rightly, rate limited: this gateway has no limits.
      const noLimits = join(tmpdir(), `rate-limits-${randomUUID()}.yaml`);
      writeFileSync(noLimits, 'enabled: false\n');
      const gateway = await startExtraGateway(stack, { RATE_LIMITS_CONFIG: noLimits });
      extraGateways.push(gateway);
      const orderId = await placeOrder(owner.token);

      // All as staff, who has no orders of their own: no event arrives while clients join, so identical
      // subscriptions keep sharing. A quarter share one myOrderUpdates upstream; the rest watch the order
      // from 250 different `after`s (far ahead, so silent): 250 upstream subscriptions, three clients each.
      const clients: { socket: GatewaySocket; feed: TestSubscription }[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const opened = Array.from({ length: 100 }, (_, k) => {
          const i = batch * 100 + k;
          const socket = connectGateway(gateway, { token: admin });
          const feed =
            i % 4 === 0
              ? socket.subscribe(MY_ORDERS)
              : socket.subscribe(STATUS, { id: orderId, after: 1_000 + (i % 250) });
          return { socket, feed };
        });
        clients.push(...opened);
        await Promise.all(opened.map((c) => c.socket.acknowledged));
      }
      await eventually(
        () => gateway.subscriptions.clientSubscriptions() === 1_000,
        60_000,
        '1,000 client subscriptions',
      );
      await eventually(
        () => stack.services.orders.activeSubscriptions() === 251,
        60_000,
        '251 upstream subscriptions on orders',
      );
      assert.deepEqual(gateway.subscriptions.upstreamSubscriptions(), { orders: 251 });
      assert.equal(
        clients.some((c) => c.feed.isEnded()),
        false,
        JSON.stringify(clients.find((c) => c.feed.isEnded())?.feed.results),
      );

      // A third unsubscribe and close, a third just close, a third vanish (TCP dropped, no close frame).
      await Promise.all(
        clients.map(async ({ socket, feed }, i) => {
          if (i % 3 === 0) feed.unsubscribe();
          if (i % 3 === 2) socket.drop();
          else await socket.close();
        }),
      );
      const started = Date.now();
      await eventually(
        () => stack.services.orders.activeSubscriptions() === 0,
        20_000,
        'orders to have no subscription left',
      );
      assert.ok(Date.now() - started < 20_000);
      await noUpstreamLeft([gateway]);
      assert.equal(gateway.subscriptions.connections(), 0);
    },
  );
});

const settle = async (feed: TestSubscription) => (await feed.ended, feed);

function rawSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}
const nextMessage = (socket: WebSocket) =>
  new Promise<unknown>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
