import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureLogs } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * `@authenticated` and `@requiresScopes` at the gateway, in front of the
 * services' own rules: a refused field comes back null with its error at its
 * path while the rest of the answer stands, and the service behind is never
 * asked for it — the service audits every FORBIDDEN it answers, so a
 * refusal audited by the gateway alone shows the request stopped there.
 */
const STOCK = `query Stock { products(first: 2) { edges { node { id name stockLevel } } } }`;

describe('authorization directives at the gateway', { timeout: 300_000 }, () => {
  let stack: Stack;
  const logs = captureLogs();

  before(async () => {
    stack = await startStack({ logger: logs.logger });
    await stack.services.products.seed();
  });
  after(() => stack?.stop());

  const deniedBy = (service: string) => logs.find('access_denied').filter((r) => r.service === service);

  it('an anonymous caller gets the public fields and UNAUTHENTICATED at each protected one', async () => {
    const res = await stack.query(STOCK);
    const edges = res.data?.products.edges as { node: { id: string; name: string; stockLevel: unknown } }[];
    assert.equal(edges.length, 2, JSON.stringify(res));
    for (const { node } of edges) {
      assert.ok(node.name.length > 0);
      assert.equal(node.stockLevel, null);
    }
    assert.deepEqual(
      res.errors?.map((e) => [e.extensions?.code, e.path]),
      [0, 1].map((i) => ['UNAUTHENTICATED', ['products', 'edges', i, 'node', 'stockLevel']]),
      JSON.stringify(res),
    );
  });

  it('a customer is FORBIDDEN a staff-scoped field, audited by the gateway and never asked of the service', async () => {
    const customer = await stack.signUp();
    const before = { gateway: deniedBy('gateway').length, products: deniedBy('products').length };
    const res = await stack.query(STOCK, {}, customer.token);
    assert.deepEqual(
      res.errors?.map((e) => e.extensions?.code),
      ['FORBIDDEN', 'FORBIDDEN'],
      JSON.stringify(res),
    );
    assert.equal(res.data?.products.edges[0].node.stockLevel, null);
    const audited = deniedBy('gateway').slice(before.gateway);
    assert.equal(audited.length, 1, 'one record per request');
    assert.equal(audited[0]!.userId, customer.userId);
    assert.deepEqual(audited[0]!.fields, ['Product.stockLevel']);
    assert.equal(deniedBy('products').length, before.products, 'the products service was not asked');
  });

  it('staff hold the `staff` scope and see the field', async () => {
    const admin = await stack.logInAdmin();
    const res = await stack.query(STOCK, {}, admin);
    assert.equal(res.errors, undefined, JSON.stringify(res));
    assert.equal(typeof res.data?.products.edges[0].node.stockLevel, 'number');
  });

  it('aliases, fragments and @include keep their shape around a refused field', async () => {
    const res = await stack.query(
      `query($more: Boolean!) {
        products(first: 1) { edges { node { ...Card level: stockLevel @include(if: $more) } } }
      }
      fragment Card on Product { id title: name ... on Product { again: stockLevel } }`,
      { more: true },
    );
    const node = res.data?.products.edges[0].node as Record<string, unknown>;
    assert.deepEqual(Object.keys(node), ['id', 'title', 'again', 'level'], JSON.stringify(res));
    assert.equal(node.level, null);
    assert.equal(node.again, null);
    assert.deepEqual(res.errors?.map((e) => e.path?.at(-1)).sort(), ['again', 'level'], JSON.stringify(res));
    const skipped = await stack.query(
      `query($more: Boolean!) { products(first: 1) { edges { node { id level: stockLevel @include(if: $more) } } } }`,
      { more: false },
    );
    assert.equal(skipped.errors, undefined, JSON.stringify(skipped));
  });

  it('a refused non-null field nulls its nearest nullable parent, as the service itself would', async () => {
    const res = await stack.query(
      `mutation { placeOrder(input: { items: [] }, idempotencyKey: "anonymous-try") { id } }`,
    );
    assert.equal(res.data, null, JSON.stringify(res));
    assert.deepEqual(
      res.errors?.map((e) => [e.extensions?.code, e.path]),
      [['UNAUTHENTICATED', ['placeOrder']]],
    );
  });

  it('a refused root field does not stop its allowed siblings', async () => {
    const res = await stack.query(`{ categories { id } orders(first: 1) { edges { node { id } } } }`);
    assert.ok(Array.isArray(res.data?.categories), JSON.stringify(res));
    assert.equal(res.data?.orders, null);
    assert.deepEqual(
      res.errors?.map((e) => [e.extensions?.code, e.path]),
      [['UNAUTHENTICATED', ['orders']]],
    );
  });
});
