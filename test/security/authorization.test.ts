import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SIGNATURE_HEADERS, signSubgraphRequest, type Identity } from '@storefront/platform/auth';
import { eventually, subgraphCaller, TEST_SECRET, type GraphQLResult } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Authorization on the real stack: IDOR attempts through the gateway and
 * straight at the subgraphs (`_entities`, `User.orders`, …), staff-only lists
 * and fields, and every way of calling a subgraph around the gateway
 * (unsigned, badly signed, stale, tampered, identity swapped, replayed).
 */
type Service = 'users' | 'products' | 'orders' | 'notifications';
const SERVICES: Service[] = ['users', 'products', 'orders', 'notifications'];

const codes = (res: GraphQLResult) => (res.errors ?? []).map((e) => e.extensions?.code);
const ORDER_FIELDS = `id status total { amount } items { quantity } user { id }`;

describe('authorization: IDOR, staff-only data and calls around the gateway', { timeout: 120_000 }, () => {
  let stack: Stack;
  let admin: string;
  let alice: { token: string; userId: string; email: string };
  let bob: { token: string; userId: string; email: string };
  let aliceOrderId: string;
  let aliceNotificationId: string;
  let productId: string;
  const counts = { idor: 0, roles: 0, direct: 0 };
  const as = (user: { userId: string }, role: Identity['role'] = 'CUSTOMER'): Identity => ({
    userId: user.userId,
    role,
  });
  const call = (service: Service) => subgraphCaller(stack.services[service]);

  before(async () => {
    stack = await startStack();
    admin = await stack.logInAdmin();
    [alice, bob] = await Promise.all([stack.signUp('Alice Owner'), stack.signUp('Bob Other')]);
    const category = (
      await stack.query(`mutation { createCategory(name: "${randomUUID().slice(0, 8)}") { id } }`, {}, admin)
    ).data!.createCategory.id;
    const created = await stack.query(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      {
        input: {
          sku: `SKU-${randomUUID().slice(0, 8)}`,
          name: 'Lamp',
          price: { amount: 1500, currency: 'EUR' },
          categoryId: category,
          stockLevel: 10,
        },
      },
      admin,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    productId = created.data!.createProduct.id;
    const input = {
      items: [{ productId, quantity: 1 }],
      shippingAddress: { line1: '1 Main St', city: 'Berlin', country: 'DE' },
    };
    aliceOrderId = await eventually(
      async () => {
        const res = await stack.query(
          `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
          { input, key: randomUUID() },
          alice.token,
        );
        return res.data?.placeOrder?.id as string | undefined;
      },
      30_000,
      'placeOrder to accept the new product',
    );
    aliceNotificationId = await eventually(
      async () => {
        const res = await stack.query(`{ me { notifications(first: 5) { edges { node { id } } } } }`, {}, alice.token);
        return res.data?.me?.notifications?.edges?.[0]?.node.id as string | undefined;
      },
      30_000,
      'a notification for alice',
    );
  });
  after(() => stack?.stop());

  describe('IDOR', () => {
    it('the owner reads her own order (control)', async () => {
      const res = await stack.query(
        `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
        { id: aliceOrderId },
        alice.token,
      );
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.equal(res.data!.order.id, aliceOrderId);
    });

    it('another customer cannot read an order by id through the gateway', async () => {
      const res = await stack.query(
        `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
        { id: aliceOrderId },
        bob.token,
      );
      assert.ok(codes(res).includes('FORBIDDEN'), JSON.stringify(res));
      assert.equal(res.data?.order ?? null, null);
      assert.doesNotMatch(JSON.stringify(res), /Main St|1500/);
      counts.idor += 1;
    });

    it('nor through _entities on the orders subgraph, nor through User.orders', async () => {
      const res = await call('orders')(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { status total { amount } } ... on User { orders { edges { node { id } } } } } }`,
        {
          r: [
            { __typename: 'Order', id: aliceOrderId },
            { __typename: 'User', id: alice.userId },
          ],
        },
        as(bob),
      );
      assert.equal(res.status, 200);
      assert.ok(codes(res).length >= 2 && codes(res).every((c) => c === 'FORBIDDEN'), JSON.stringify(res.errors));
      const [order, user] = res.data!._entities as (
        { status?: string; total?: unknown } | null | { orders: unknown }
      )[];
      assert.ok(
        order === null ||
          ((order as { status?: unknown }).status == null && (order as { total?: unknown }).total == null),
        JSON.stringify(order),
      );
      assert.equal((user as { orders: unknown }).orders, null);
      assert.doesNotMatch(JSON.stringify(res), new RegExp(aliceOrderId));
      counts.idor += 2;
    });

    it("another user's email: null + FORBIDDEN by user(id) and by users _entities", async () => {
      const byId = await stack.query(`query($id: ID!) { user(id: $id) { id email } }`, { id: alice.userId }, bob.token);
      assert.ok(codes(byId).includes('FORBIDDEN'), JSON.stringify(byId));
      assert.equal(byId.data?.user ?? null, null);
      const entities = await call('users')(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email role emailNotifications } } }`,
        { r: [{ __typename: 'User', id: alice.userId }] },
        as(bob),
      );
      assert.ok(codes(entities).includes('FORBIDDEN'), JSON.stringify(entities));
      const user = entities.data!._entities[0];
      assert.ok(
        user === null || (user.email === null && user.role === null && user.emailNotifications === null),
        JSON.stringify(user),
      );
      for (const res of [byId, entities]) assert.ok(!JSON.stringify(res).includes(alice.email), 'email leaked');
      counts.idor += 2;
    });

    it("another user's notification: by id, by _entities and by User.notifications", async () => {
      const byId = await stack.query(
        `query($id: ID!) { notification(id: $id) { id subject body } }`,
        { id: aliceNotificationId },
        bob.token,
      );
      assert.ok(codes(byId).includes('FORBIDDEN'), JSON.stringify(byId));
      assert.equal(byId.data?.notification ?? null, null);
      const entities = await call('notifications')(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { subject body } ... on User { notifications { edges { node { id } } } } } }`,
        {
          r: [
            { __typename: 'Notification', id: aliceNotificationId },
            { __typename: 'User', id: alice.userId },
          ],
        },
        as(bob),
      );
      assert.ok(
        codes(entities).length >= 2 && codes(entities).every((c) => c === 'FORBIDDEN'),
        JSON.stringify(entities.errors),
      );
      const [notification, user] = entities.data!._entities;
      assert.ok(
        notification === null || (notification.subject === null && notification.body === null),
        JSON.stringify(notification),
      );
      assert.equal(user.notifications, null);
      assert.doesNotMatch(JSON.stringify(entities), new RegExp(aliceNotificationId));
      counts.idor += 3;
    });

    it('User.orders / User.notifications of another user through the gateway', async () => {
      const res = await stack.query(
        `query($id: ID!) { user(id: $id) { id orders { edges { node { id } } } notifications { edges { node { id } } } } }`,
        { id: alice.userId },
        bob.token,
      );
      assert.ok(codes(res).includes('FORBIDDEN'), JSON.stringify(res));
      assert.equal(res.data?.user ?? null, null);
      counts.idor += 1;
    });
  });

  describe('roles', () => {
    it('users and orders lists are refused to a customer, served to staff', async () => {
      for (const list of ['users', 'orders']) {
        const asCustomer = await stack.query(`{ ${list}(first: 1) { edges { node { id } } } }`, {}, bob.token);
        assert.deepEqual(codes(asCustomer), ['FORBIDDEN'], JSON.stringify(asCustomer));
        assert.equal(asCustomer.data?.[list] ?? null, null);
        const asAdmin = await stack.query(`{ ${list}(first: 1) { edges { node { id } } } }`, {}, admin);
        assert.equal(asAdmin.errors, undefined, JSON.stringify(asAdmin.errors));
        counts.roles += 1;
      }
    });

    it('Product.stockLevel: null + error for anonymous and customers, a number for staff', async () => {
      const q = `query($id: ID!) { product(id: $id) { name stockLevel } }`;
      const anonymous = await stack.query(q, { id: productId });
      assert.deepEqual(codes(anonymous), ['UNAUTHENTICATED']);
      assert.deepEqual(anonymous.data!.product, { name: 'Lamp', stockLevel: null });
      const customer = await stack.query(q, { id: productId }, bob.token);
      assert.deepEqual(codes(customer), ['FORBIDDEN']);
      assert.deepEqual(customer.data!.product, { name: 'Lamp', stockLevel: null });
      const staff = await stack.query(q, { id: productId }, admin);
      assert.equal(staff.errors, undefined);
      assert.equal(typeof staff.data!.product.stockLevel, 'number');
      counts.roles += 2;
    });
  });

  describe('calls around the gateway', () => {
    const ADJUST = `mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { stockLevel } }`;
    const probe = (service: Service) =>
      service === 'products'
        ? { query: ADJUST, variables: { id: productId } }
        : { query: `{ _service { sdl } }`, variables: {} };
    const stock = async () =>
      (
        await call('products')(
          `query($id: ID!) { product(id: $id) { stockLevel } }`,
          { id: productId },
          as(bob, 'STAFF'),
        )
      ).data!.product.stockLevel as number;

    async function post(service: Service, body: string, headers: Record<string, string>) {
      const res = await fetch(stack.services[service].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: res.status, ...((await res.json()) as Omit<GraphQLResult, 'status'>) };
    }
    function assertRefused(res: GraphQLResult, what: string) {
      assert.equal(res.status, 401, `${what}: ${JSON.stringify(res)}`);
      assert.deepEqual(codes(res), ['UNAUTHENTICATED'], what);
      assert.equal(res.data ?? undefined, undefined, what);
      counts.direct += 1;
    }
    const encode = (identity: Identity) =>
      Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString('base64url');

    for (const service of SERVICES) {
      it(`${service}: unsigned, badly signed, stale, tampered, identity-swapped and replayed requests are 401`, async () => {
        const before = await stock();
        const { query, variables } = probe(service);
        const body = JSON.stringify({ query, variables });
        const staffer = as(bob, 'STAFF');
        const customer = as(bob);

        assertRefused(await post(service, body, {}), `${service} unsigned`);
        const signed = signSubgraphRequest(TEST_SECRET, body, staffer);
        assertRefused(
          await post(service, body, {
            ...signed,
            [SIGNATURE_HEADERS.signature]: signSubgraphRequest('another-secret-0123456789', body, staffer)[
              SIGNATURE_HEADERS.signature
            ]!,
          }),
          `${service} bad signature`,
        );
        assertRefused(
          await post(service, body, signSubgraphRequest(TEST_SECRET, body, staffer, Date.now() - 120_000)),
          `${service} stale`,
        );
        const other = JSON.stringify({ query, variables: { ...variables, extra: 1 } });
        assertRefused(
          await post(service, other, signSubgraphRequest(TEST_SECRET, body, staffer)),
          `${service} tampered body`,
        );
        const asCustomer = signSubgraphRequest(TEST_SECRET, body, customer);
        assertRefused(
          await post(service, body, { ...asCustomer, [SIGNATURE_HEADERS.identity]: encode(staffer) }),
          `${service} identity swapped`,
        );
        const noNonce = { ...signSubgraphRequest(TEST_SECRET, body, staffer) };
        delete noNonce[SIGNATURE_HEADERS.nonce];
        assertRefused(await post(service, body, noNonce), `${service} nonce removed`);

        // Replay: the first is accepted (and runs), the identical second is refused before any resolver.
        const once = signSubgraphRequest(TEST_SECRET, body, staffer);
        const first = await post(service, body, once);
        assert.equal(first.status, 200, JSON.stringify(first));
        assert.equal(first.errors, undefined, JSON.stringify(first.errors));
        assertRefused(await post(service, body, once), `${service} replayed`);
        assertRefused(await post(service, body, once), `${service} replayed again`);

        // Only the one accepted adjustStock ran.
        assert.equal(await stock(), before + (service === 'products' ? 1 : 0));
      });
    }

    it('the gateway still works after all of that', { timeout: 15_000 }, async (t) => {
      for (let i = 0; i < 5; i += 1) {
        const res = await stack.query(`{ me { id } }`, {}, alice.token);
        assert.equal(res.data?.me?.id, alice.userId, JSON.stringify(res.errors));
      }
      // The suite's tally (tests run in order, so every case above has been counted).
      t.diagnostic(
        `authorization: ${counts.idor} IDOR cases, ${counts.roles} role cases, ${counts.direct} direct subgraph calls refused`,
      );
      assert.ok(counts.idor >= 9 && counts.roles >= 4 && counts.direct >= 32, JSON.stringify(counts));
    });
  });
});
