import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@storefront/platform/logger';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Identical subgraph fetches in flight at the same time share one request
 * (SUBGRAPH_DEDUP) — but only queries, and only for the same caller: a
 * per-user answer never reaches another user and a mutation always runs once
 * per request. The products and users subgraphs sit behind a relay that holds
 * each request a little (so concurrent fetches overlap, as under load) and
 * counts what reaches them.
 */
const CATALOG = `{ products(first: 5) { edges { node { id name price { amount currency } } } } }`;
const ME = `{ me { id name email } }`;
const ADJUST = `mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id stockLevel } }`;
const STOCK = `query($id: ID!) { product(id: $id) { stockLevel } }`;
const N = 12;
const HOLD_MS = 250;
const silent = createLogger({ name: 'test', level: 'silent' });

interface Relay {
  url: string;
  /** POSTs that reached the subgraph, by operation kind as the gateway sent it. */
  received: { query: number; mutation: number };
  close(): Promise<void>;
}

/** Forwards byte for byte (the gateway's signature covers the exact body) after HOLD_MS; other paths (JWKS) too. */
async function relay(target: string): Promise<Relay> {
  const received = { query: 0, mutation: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') {
        const query = (JSON.parse(body.toString('utf8')) as { query: string }).query;
        // The gateway's fetches name their operation kind; no field of these subgraphs is called "mutation".
        received[/\bmutation\b/.test(query) ? 'mutation' : 'query']++;
      }
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
      ) as Record<string, string>;
      const upstream = await fetch(new URL(req.url ?? '/', target), {
        method: req.method,
        headers,
        body: req.method === 'POST' ? body : undefined,
      });
      const forwarded: Record<string, string> = {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      };
      const cacheControl = upstream.headers.get('cache-control');
      if (cacheControl) forwarded['cache-control'] = cacheControl;
      res.writeHead(upstream.status, forwarded).end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('fetch dedup: identical subgraph fetches sent once', { timeout: 240_000 }, () => {
  let stack: Stack;
  let products: Relay;
  let users: Relay;

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    products = await relay(stack.services.products.url);
    users = await relay(stack.services.users.url);
  });
  after(async () => {
    // The stack stops its gateways first, so nothing holds a connection to the relays when they close.
    await stack?.stop();
    await products?.close();
    await users?.close();
  });

  const gatewayWith = async (env: Record<string, string> = {}) => {
    const gateway = await stack.startGateway(
      // Every query must be executed and fetched: no response cache, no sharing of whole executions.
      { RESPONSE_CACHE: 'false', OPERATION_DEDUP: 'false', ...env },
      { subgraphUrls: { users: users.url, products: products.url }, logger: silent },
    );
    const ask = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data?: Record<string, any> | null; errors?: unknown[] };
    };
    return { gateway, ask };
  };

  it('N concurrent identical public queries: fewer than N requests reach the subgraph, every client gets the full answer', async () => {
    const { gateway, ask } = await gatewayWith();
    const expected = await ask(CATALOG);
    assert.equal(expected.errors, undefined, JSON.stringify(expected.errors));
    assert.equal(expected.data!.products.edges.length, 5);

    const receivedBefore = products.received.query;
    const fetchesBefore = gateway.subgraphFetches().products ?? 0;
    const answers = await Promise.all(Array.from({ length: N }, () => ask(CATALOG)));
    for (const answer of answers) assert.deepEqual(answer, expected);
    const received = products.received.query - receivedBefore;
    assert.ok(received >= 1 && received < N, `${received} requests reached products for ${N} identical queries`);
    assert.equal(
      (gateway.subgraphFetches().products ?? 0) - fetchesBefore,
      received,
      'subgraphFetches() counts what was sent',
    );
  });

  it('with SUBGRAPH_DEDUP=false every query is its own request', async () => {
    const { ask } = await gatewayWith({ SUBGRAPH_DEDUP: 'false' });
    const receivedBefore = products.received.query;
    const answers = await Promise.all(Array.from({ length: N }, () => ask(CATALOG)));
    for (const answer of answers) assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    assert.equal(products.received.query - receivedBefore, N);
  });

  it('identical queries of two users at the same time are never merged', async () => {
    const { ask } = await gatewayWith();
    const [ann, bob] = await Promise.all([stack.signUp('Ann'), stack.signUp('Bob')]);
    const receivedBefore = users.received.query;
    const answers = await Promise.all(
      Array.from({ length: 2 * N }, (_, i) => (i % 2 ? bob : ann)).map(async (user) => ({
        user,
        answer: await ask(ME, {}, user.token),
      })),
    );
    for (const { user, answer } of answers) {
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      assert.equal(answer.data!.me.id, user.userId);
      assert.equal(answer.data!.me.email, user.email);
    }
    const received = users.received.query - receivedBefore;
    // At least one request per user; fewer than one per query (each user's own are shared).
    assert.ok(received >= 2 && received < 2 * N, `${received} requests reached users for ${2 * N} queries of 2 users`);
  });

  it('mutations are never merged: N concurrent identical stock adjustments add N', async () => {
    const { ask } = await gatewayWith();
    const admin = await stack.logInAdmin();
    const product = (await ask(`{ products(first: 1) { edges { node { id } } } }`)).data!.products.edges[0].node
      .id as string;
    const stockBefore = (await ask(STOCK, { id: product }, admin)).data!.product.stockLevel as number;
    const mutationsBefore = products.received.mutation;

    const answers = await Promise.all(Array.from({ length: N }, () => ask(ADJUST, { id: product }, admin)));
    for (const answer of answers) assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    assert.equal(products.received.mutation - mutationsBefore, N);
    const stockAfter = (await ask(STOCK, { id: product }, admin)).data!.product.stockLevel as number;
    assert.equal(stockAfter, stockBefore + N);
  });
});
