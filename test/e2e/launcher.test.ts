import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@storefront/platform/testing';

/**
 * `npm start` as a newcomer runs it: the embedded default, nothing installed,
 * one process. A customer logs in with the printed demo account, buys from
 * the seeded catalog and reads their order history across three services.
 */
describe('npm start (embedded default)', { timeout: 600_000 }, () => {
  let child: ChildProcess;
  let url: string;
  let output = '';

  const post = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  };

  before(async () => {
    const env = {
      ...process.env,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'storefront-start-')),
      LOG_LEVEL: 'warn',
    } as Record<string, string>;
    for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'REDIS_URL', 'TEST_DATABASE_URL']) delete env[name];
    for (const name of ['GATEWAY_PORT', 'USERS_PORT', 'PRODUCTS_PORT', 'ORDERS_PORT', 'NOTIFICATIONS_PORT'])
      env[name] = '0';
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    url = await eventually(
      () => /ready at (http:\/\/\S+)/.exec(output)?.[1],
      // Four services compiled by tsx and their migrations replayed in PGlite: most of a minute on a busy machine.
      480_000,
      'the supergraph to print its URL',
    );
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the URL and the demo log-ins', () => {
    assert.match(output, /admin@storefront\.local/);
    assert.match(output, /customer@storefront\.local \/ customer-password-1/);
  });

  it('lets the demo customer buy from the seeded catalog and see the order with items, products and their name', async () => {
    const login = await post(
      `mutation { logIn(email: "customer@storefront.local", password: "customer-password-1") { accessToken } }`,
    );
    const token = login.data?.logIn.accessToken as string;
    assert.ok(token, JSON.stringify(login.errors));
    const catalog = await post(`{ products(first: 2) { edges { node { id name price { amount } } } } }`);
    const [first, second] = catalog.data.products.edges.map((e: { node: unknown }) => e.node);
    const placed = await post(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input, idempotencyKey: "launcher-test") { id } }`,
      {
        input: {
          items: [
            { productId: first.id, quantity: 1 },
            { productId: second.id, quantity: 2 },
          ],
        },
      },
      token,
    );
    assert.ok(placed.data?.placeOrder.id, JSON.stringify(placed.errors));

    const order = await eventually(
      async () => {
        const res = await post(
          `{ me { name orders(first: 5) { edges { node { id status total { amount } items { quantity unitPrice { amount } product { name } } user { name } } } } } }`,
          {},
          token,
        );
        const node = res.data?.me?.orders.edges[0]?.node;
        return node?.status === 'CONFIRMED' ? node : undefined;
      },
      30_000,
      'the order to be confirmed',
    );
    assert.equal(order.user.name, 'Demo Customer');
    assert.equal(order.total.amount, first.price.amount + 2 * second.price.amount);
    assert.deepEqual(
      order.items.map((i: { product: { name: string } }) => i.product.name),
      [first.name, second.name],
    );
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
