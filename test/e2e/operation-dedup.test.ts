import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Operation dedup: identical queries in flight at the same time (same
 * operation, variables and caller) share one execution — and only those:
 * another user's identical query runs on its own, and mutations always run.
 *
 * The gateways here reach the products and users subgraphs through a proxy
 * that counts the requests and can hold them until the gateway has the
 * expected number of requests waiting, so "at the same time" is certain
 * rather than likely. The response cache is off on them: every request here
 * must reach execution.
 */
const N = 8;
const PRODUCT = `query($id: ID!) { product(id: $id) { id name sku } }`;
const ME = `{ me { id email orders(first: 5) { edges { node { id } } } } }`;

interface HoldingProxy {
  url: string;
  requests(): number;
  /** Holds every GraphQL request from now until `ready()` and one has come (or 10 s), then lets them through (or fails them, with `fail`). */
  hold(ready: () => boolean, options?: { fail?: boolean }): void;
  close(): Promise<void>;
}

async function holdingProxy(target: string): Promise<HoldingProxy> {
  let requests = 0;
  let gate: { opened: Promise<void>; fail: boolean; used: boolean } | undefined;
  const server: Server = createServer(async (req, res) => {
    // The gateway's health checks (GET /readyz) pass through uncounted and never held.
    if (req.method !== 'POST') {
      const upstream = await fetch(new URL(req.url ?? '/', target), { method: req.method });
      return void res.writeHead(upstream.status).end(Buffer.from(await upstream.arrayBuffer()));
    }
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const held = gate;
    if (held) {
      held.used = true;
      await held.opened;
    }
    // A 500, not a 503: the gateway retries a query that meets a 503 (traffic.yaml), and this failure must stick.
    if (held?.fail) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('failed');
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([name]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name),
      ),
    ) as Record<string, string>;
    const upstream = await fetch(target, { method: req.method, headers, body: Buffer.concat(chunks) });
    const body = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
      'cache-control': upstream.headers.get('cache-control') ?? 'no-store',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    requests: () => requests,
    hold(ready, options = {}) {
      const held = { opened: Promise.resolve(), fail: options.fail ?? false, used: false };
      held.opened = (async () => {
        const deadline = Date.now() + 10_000;
        // Open once ready and once at least one request has met the gate (it may come after the others are waiting).
        do await new Promise((r) => setTimeout(r, 5));
        while ((!ready() || !held.used) && Date.now() < deadline);
        if (gate === held) gate = undefined;
      })();
      gate = held;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('operation dedup', { timeout: 240_000 }, () => {
  let stack: Stack;
  let products: HoldingProxy;
  let users: HoldingProxy;
  let gateway: RunningGateway;
  let productIds: string[];

  const startProxiedGateway = (env: Record<string, string> = {}) =>
    stack.startGateway(
      {
        RESPONSE_CACHE: 'false',
        // Keys straight from the users service, not through the proxy (a held key fetch would hold every request).
        JWKS_URL: new URL('/.well-known/jwks.json', stack.services.users.url).toString(),
        ...env,
      },
      { subgraphUrls: { products: products.url, users: users.url } },
    );
  const send = async (
    target: RunningGateway,
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ) => {
    // A hang would fail here, not at the suite's timeout.
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    return {
      status: res.status,
      ...((await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] }),
    };
  };
  const fetchesDuring = async <T>(target: RunningGateway, work: () => Promise<T>) => {
    const before = target.subgraphFetches();
    const result = await work();
    const after = target.subgraphFetches();
    const delta = Object.fromEntries(
      Object.keys(after)
        .map((k) => [k, after[k]! - (before[k] ?? 0)])
        .filter(([, n]) => n !== 0),
    );
    return { result, fetches: delta };
  };

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    products = await holdingProxy(stack.services.products.url);
    users = await holdingProxy(stack.services.users.url);
    gateway = await startProxiedGateway();
    const list = await stack.query(`{ products(first: 6) { edges { node { id } } } }`);
    productIds = list.data!.products.edges.map((e: { node: { id: string } }) => e.node.id);
  });
  after(async () => {
    // The stack stops its gateways first, so nothing holds a connection to the proxies when they close.
    await stack?.stop();
    await products?.close();
    await users?.close();
  });

  it('runs N concurrent identical queries once, and gives all N the same answer', async () => {
    const alone = await fetchesDuring(gateway, () => send(gateway, PRODUCT, { id: productIds[0] }));
    assert.equal(alone.result.errors, undefined, JSON.stringify(alone.result.errors));

    const proxied = products.requests();
    const shared = gateway.operationDedup.shared();
    products.hold(() => gateway.operationDedup.waiting() >= N - 1);
    const burst = await fetchesDuring(gateway, () =>
      Promise.all(Array.from({ length: N }, () => send(gateway, PRODUCT, { id: productIds[1] }))),
    );

    assert.deepEqual(burst.fetches, alone.fetches, 'one execution’s worth of subgraph fetches');
    assert.equal(products.requests() - proxied, 1);
    assert.equal(gateway.operationDedup.shared() - shared, N - 1);
    for (const res of burst.result) {
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.equal(res.data.product.id, productIds[1]);
      assert.deepEqual(res.data, burst.result[0]!.data);
    }
    assert.equal(gateway.operationDedup.inFlight(), 0);
  });

  it('serializes a shared answer once, and every sharer gets the same bytes in its encoding', async () => {
    // Every answer compressed, however small, so both encodings are exercised.
    const compressing = await startProxiedGateway({ COMPRESSION_MIN_BYTES: '0' });
    // Raw bytes, as the gateway wrote them (fetch would decompress them).
    const sendRaw = (encoding: 'gzip' | 'br') =>
      new Promise<Buffer>((resolve, reject) => {
        const req = request(
          compressing.url,
          { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': encoding } },
          (res) => {
            assert.equal(res.headers['content-encoding'], encoding);
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ query: PRODUCT, variables: { id: productIds[5] } }));
      });
    const serialized = compressing.operationDedup.answersSerialized();
    const alone = (await send(compressing, PRODUCT, { id: productIds[5] })) as { data: unknown };
    assert.equal(compressing.operationDedup.answersSerialized(), serialized, 'an answer not shared is not counted');

    const shared = compressing.operationDedup.shared();
    products.hold(() => compressing.operationDedup.waiting() >= N - 1);
    const encodings = Array.from({ length: N }, (_, i): 'gzip' | 'br' => (i % 2 === 0 ? 'gzip' : 'br'));
    const bodies = await Promise.all(encodings.map(sendRaw));

    assert.equal(compressing.operationDedup.shared() - shared, N - 1);
    assert.equal(compressing.operationDedup.answersSerialized() - serialized, 1, 'one text for all N');
    const byEncoding = (encoding: string) => bodies.filter((_, i) => encodings[i] === encoding);
    for (const encoding of ['gzip', 'br']) {
      const [first, ...rest] = byEncoding(encoding);
      for (const body of rest) assert.ok(body.equals(first!), `every ${encoding} sharer gets the same bytes`);
    }
    for (const [i, body] of bodies.entries()) {
      const text = (encodings[i] === 'gzip' ? gunzipSync(body) : brotliDecompressSync(body)).toString('utf8');
      assert.deepEqual(JSON.parse(text), { data: alone.data });
    }
  });

  it('shares between identical queries whose variables come in another key order', async () => {
    const TWO = `query($id: ID!, $first: Int!) { product(id: $id) { id name } products(first: $first) { edges { node { id } } } }`;
    const proxied = products.requests();
    const shared = gateway.operationDedup.shared();
    products.hold(() => gateway.operationDedup.waiting() >= 1);
    const [a, b] = await Promise.all([
      send(gateway, TWO, { id: productIds[2], first: 3 }),
      send(gateway, TWO, { first: 3, id: productIds[2] }),
    ]);
    assert.equal(a.errors, undefined, JSON.stringify(a.errors));
    assert.deepEqual(b.data, a.data);
    assert.equal(gateway.operationDedup.shared() - shared, 1);
    assert.equal(products.requests() - proxied, 1, 'one execution: one products request');
  });

  it('runs each of them with OPERATION_DEDUP=false (the control)', async () => {
    // The transport's own sharing of identical subgraph fetches is off too, or it would do the same one level down.
    const independent = await startProxiedGateway({ OPERATION_DEDUP: 'false', SUBGRAPH_DEDUP: 'false' });
    const proxied = products.requests();
    products.hold(() => products.requests() - proxied >= N);
    const burst = await Promise.all(Array.from({ length: N }, () => send(independent, PRODUCT, { id: productIds[2] })));
    for (const res of burst) assert.equal(res.data?.product?.id, productIds[2], JSON.stringify(res.errors));
    assert.equal(products.requests() - proxied, N);
  });

  it('never shares an answer between two users: each user’s identical queries share only with their own', async () => {
    const [alice, bob] = [await stack.signUp('Alice'), await stack.signUp('Bob')];
    const shared = gateway.operationDedup.shared();
    users.hold(() => gateway.operationDedup.waiting() >= 2 * (N / 2 - 1));
    const burst = await fetchesDuring(gateway, () =>
      Promise.all(
        Array.from({ length: N }, (_, i) => (i % 2 === 0 ? alice : bob)).map(async (who) => ({
          who,
          res: await send(gateway, ME, {}, who.token),
        })),
      ),
    );
    for (const { who, res } of burst.result) {
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.deepEqual({ id: res.data.me.id, email: res.data.me.email }, { id: who.userId, email: who.email });
    }
    // One execution per user: one users fetch and one orders fetch each.
    assert.deepEqual(burst.fetches, { users: 2, orders: 2 });
    assert.equal(gateway.operationDedup.shared() - shared, N - 2);
  });

  it('runs every one of N concurrent identical mutations', async () => {
    const admin = await stack.logInAdmin();
    const STOCK = `query($id: ID!) { product(id: $id) { stockLevel } }`;
    const ADJUST = `mutation($id: ID!) { adjustStock(productId: $id, delta: 1) { id stockLevel } }`;
    const id = productIds[3];
    const before = (await send(gateway, STOCK, { id }, admin)).data!.product.stockLevel as number;
    const proxied = products.requests();
    const results = await Promise.all(Array.from({ length: N }, () => send(gateway, ADJUST, { id }, admin)));
    for (const res of results) assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(products.requests() - proxied, N);
    assert.equal((await send(gateway, STOCK, { id }, admin)).data!.product.stockLevel, before + N);
    // Each saw its own change: N different stock levels.
    assert.equal(new Set(results.map((res) => res.data!.adjustStock.stockLevel)).size, N);
  });

  it('releases every waiter with the error when the shared execution fails', async () => {
    const proxied = products.requests();
    products.hold(() => gateway.operationDedup.waiting() >= N - 1, { fail: true });
    const burst = await Promise.all(Array.from({ length: N }, () => send(gateway, PRODUCT, { id: productIds[4] })));
    assert.equal(products.requests() - proxied, 1, JSON.stringify(burst[0]));
    // The same answer for all, each error marked with its own request's id.
    const withoutRequestIds = (res: (typeof burst)[number]) =>
      JSON.parse(JSON.stringify(res, (key, value: unknown) => (key === 'requestId' ? undefined : value))) as unknown;
    for (const res of burst) {
      assert.ok(res.errors?.length, JSON.stringify(res));
      assert.equal(typeof res.errors[0]!.extensions?.code, 'string');
      assert.deepEqual(withoutRequestIds(res), withoutRequestIds(burst[0]!));
    }
    const requestIds = burst.map(
      (res) => (res.errors?.[0]?.extensions as { requestId?: string } | undefined)?.requestId,
    );
    assert.equal(new Set(requestIds).size, N, JSON.stringify(requestIds));
    assert.equal(gateway.operationDedup.inFlight(), 0);
    assert.equal(gateway.operationDedup.waiting(), 0);
    // Nothing stuck: the next request runs afresh and succeeds.
    assert.equal((await send(gateway, PRODUCT, { id: productIds[4] })).data?.product?.id, productIds[4]);
  });
});
