import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createLogger } from '@storefront/platform/logger';
import { eventually } from '@storefront/platform/testing';
import { composeFromConfig, enforcedHere, type RunningGateway } from '@storefront/gateway';
import { connectGateway, type GatewaySocket } from '../support/gateway-socket.ts';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Supergraph hot reload: the products subgraph already serves a new field
 * (`Product.createdAt`, as after its deploy), the gateway's supergraph does
 * not have it yet. Recomposed with it and written to SUPERGRAPH_SDL, the
 * field answers without a restart, while a customer's orderStatusChanged
 * subscription keeps delivering on the same socket and catalog queries
 * running through the swap all answer. A supergraph that does not parse or
 * does not compose is refused: the one being served stays, the refusal is
 * counted, /readyz stays 200. SUPERGRAPH_URL is polled with If-None-Match.
 */
const repo = new URL('../../', import.meta.url).pathname;
const silent = createLogger({ name: 'test', level: 'silent' });
const CREATED_AT = `query($id: ID!) { product(id: $id) { name createdAt } }`;
const CATALOG = `{ products(first: 3) { edges { node { id name price { amount } } } } }`;
const STATUS = `subscription($id: ID!) { orderStatusChanged(orderId: $id) { id status version user { name } } }`;

type Body = { data?: Record<string, any> | null; errors?: { message: string; extensions?: { code?: string } }[] };

describe('supergraph hot reload', { timeout: 300_000 }, () => {
  let stack: Stack;
  let journey: OrderJourney;
  let dir: string;
  /** The supergraph of today's subgraphs, and one composed with products as it was before `createdAt`. */
  let current: string;
  let previous: string;
  const sockets: GatewaySocket[] = [];
  const servers: Server[] = [];

  before(async () => {
    stack = await startStack({ gatewayEnv: { RESPONSE_CACHE: 'false' } });
    journey = await prepareOrderJourney(stack);
    dir = mkdtempSync(join(tmpdir(), 'supergraph-reload-'));
    current = composeFromConfig(join(repo, 'supergraph.yaml')).sdl;
    previous = composeWithout(dir, 'products', '  createdAt: DateTime!\n');
    const productFields = (sdl: string) => /\ntype Product\b[^{]*\{([^}]*)\}/.exec(sdl)?.[1] ?? '';
    assert.match(productFields(current), /createdAt/);
    assert.doesNotMatch(productFields(previous), /createdAt/);
  });
  after(async () => {
    for (const socket of sockets) await socket.close().catch(() => {});
    for (const server of servers) server.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (gateway: RunningGateway, query: string, variables = {}, token?: string): Promise<Body> => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as Body;
  };
  const reloads = async (gateway: RunningGateway, outcome: string) =>
    metricValue(await gateway.metrics.render(), 'gateway_supergraph_reloads_total', { outcome });

  it('serves a recomposed supergraph without a restart, keeping subscriptions and requests in flight', async () => {
    const file = join(dir, 'supergraph.graphql');
    writeFileSync(file, previous);
    const gateway = await stack.startGateway(
      { SUPERGRAPH_SDL: file, SUPERGRAPH_POLL_INTERVAL_MS: '100', RESPONSE_CACHE: 'false' },
      { logger: silent },
    );
    const before = await ask(gateway, CREATED_AT, { id: journey.productId });
    assert.equal(before.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(before));

    // A customer watches their order, confirmed and then paid, before the new supergraph arrives.
    const owner = await stack.signUp('Ada Reload');
    const orderId = await journey.place(owner.token);
    await eventually(
      async () =>
        (await ask(gateway, `query($id: ID!) { order(id: $id) { status } }`, { id: orderId }, owner.token)).data?.order
          ?.status === 'CONFIRMED',
      60_000,
      'order confirmed',
    );
    const socket = connectGateway(gateway, { token: owner.token });
    sockets.push(socket);
    await socket.acknowledged;
    const feed = socket.subscribe<{ orderStatusChanged: { status: string; version: number; user: { name: string } } }>(
      STATUS,
      { id: orderId },
    );
    await eventually(async () => gateway.subscriptions.upstreamSubscriptions().orders === 1, 10_000, 'upstream open');
    const mutate = async (name: string, token: string) => {
      const res = await ask(gateway, `mutation($id: ID!) { ${name}(id: $id) { status } }`, { id: orderId }, token);
      assert.ok(res.data?.[name], JSON.stringify(res));
    };
    // The same order followed over Server-Sent Events, as a web app without a socket would.
    const sse = await openEventStream(gateway.url, { query: STATUS, variables: { id: orderId } }, owner.token);
    await eventually(async () => gateway.subscriptions.clientSubscriptions() === 2, 10_000, 'SSE stream open');
    await mutate('payOrder', owner.token);
    await feed.waitFor(1);

    // Catalog queries keep running through the swap; every one must answer.
    let running = true;
    const answers: Body[] = [];
    const load = (async () => {
      while (running) answers.push(await ask(gateway, CATALOG));
    })();
    await eventually(async () => answers.length >= 5, 10_000, 'load running');
    writeFileSync(file, current);
    await eventually(async () => (await reloads(gateway, 'applied')) === 1, 10_000, 'the new supergraph applied');
    const countAtSwap = answers.length;
    await eventually(async () => answers.length >= countAtSwap + 5, 10_000, 'load after the swap');
    running = false;
    await load;
    const failed = answers.filter((a) => a.errors || a.data?.products?.edges.length !== 3);
    assert.deepEqual(failed, [], 'a query failed during the swap');

    const added = await ask(gateway, CREATED_AT, { id: journey.productId });
    assert.equal(added.errors, undefined, JSON.stringify(added));
    assert.ok(!Number.isNaN(Date.parse(added.data!.product.createdAt)), JSON.stringify(added));

    // The subscription opened on the old supergraph still delivers, completed with the user's name, and ends normally.
    const admin = journey.admin;
    await mutate('shipOrder', admin);
    await mutate('deliverOrder', admin);
    await feed.ended;
    assert.equal(feed.error, undefined, JSON.stringify(feed.error));
    assert.deepEqual(
      feed.results.map((r) => r.data?.orderStatusChanged.status),
      ['PAID', 'SHIPPED', 'DELIVERED'],
    );
    const versions = feed.results.map((r) => r.data!.orderStatusChanged.version);
    assert.deepEqual(versions, [versions[0]!, versions[0]! + 1, versions[0]! + 2]);
    assert.ok(feed.results.every((r) => r.data?.orderStatusChanged.user.name === 'Ada Reload'));
    assert.equal(gateway.subscriptions.connections(), 1, 'the socket stayed open');
    await sse.ended;
    assert.deepEqual(
      sse.events().map((e) => (e.data?.orderStatusChanged as { status: string } | undefined)?.status),
      ['PAID', 'SHIPPED', 'DELIVERED'],
      'the SSE stream delivered through the swap',
    );

    // A file that is not a supergraph, then one that parses but does not compose: both refused.
    writeFileSync(file, 'type Query { this is not GraphQL');
    await eventually(async () => (await reloads(gateway, 'refused')) === 1, 10_000, 'unparsable file refused');
    writeFileSync(file, current.replaceAll('@join__field(graph: PRODUCTS', '@join__field(graph: NOWHERE'));
    await eventually(async () => (await reloads(gateway, 'refused')) === 2, 10_000, 'uncomposable file refused');
    assert.equal(await reloads(gateway, 'applied'), 1);
    // As served: the links of the directives the gateway enforces itself lose their SECURITY purpose.
    assert.equal(gateway.supergraph.sdl, enforcedHere(current));
    const still = await ask(gateway, CREATED_AT, { id: journey.productId });
    assert.equal(still.errors, undefined, JSON.stringify(still));
    const ready = await fetch(new URL('/readyz', gateway.url));
    assert.equal(ready.status, 200);
  });

  it('polls SUPERGRAPH_URL with If-None-Match and swaps when the document changes', async () => {
    let served = current;
    const seen: { ifNoneMatch: string | undefined; status: number }[] = [];
    const server = createServer((req, res) => {
      const etag = `"${createHash('sha256').update(served).digest('hex').slice(0, 16)}"`;
      const status = req.headers['if-none-match'] === etag ? 304 : 200;
      seen.push({ ifNoneMatch: req.headers['if-none-match'], status });
      res.writeHead(status, { etag, 'content-type': 'text/plain' });
      res.end(status === 200 ? served : undefined);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph.graphql`;
    const gateway = await stack.startGateway(
      { SUPERGRAPH_URL: url, SUPERGRAPH_POLL_INTERVAL_MS: '100', RESPONSE_CACHE: 'false' },
      { logger: silent },
    );
    assert.equal((await ask(gateway, CREATED_AT, { id: journey.productId })).errors, undefined);
    // Unchanged: each poll carries the ETag and gets a 304 without a body.
    await eventually(async () => seen.filter((s) => s.status === 304).length >= 3, 10_000, 'conditional polls');
    assert.equal(seen[0]!.ifNoneMatch, undefined);
    assert.ok(seen.slice(1).every((s) => s.ifNoneMatch === seen.at(-1)!.ifNoneMatch && s.status === 304));

    served = previous;
    await eventually(async () => (await reloads(gateway, 'applied')) === 1, 10_000, 'the changed document applied');
    const gone = await ask(gateway, CREATED_AT, { id: journey.productId });
    assert.equal(gone.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(gone));
  });

  it("limits a root field the new supergraph adds by its subgraph's route", async () => {
    const file = join(dir, 'without-categories.graphql');
    writeFileSync(
      file,
      composeWithout(
        dir,
        'products',
        '  "Every category, by name."\n  categories: [Category!]! @cacheControl(maxAge: 60)\n',
      ),
    );
    const limits = join(dir, 'rate-limits.yaml');
    writeFileSync(
      limits,
      'enabled: true\nroutes:\n  products: { limit: 3, window: 1m }\ndefaultRoute: { limit: 1000, window: 1m }\n',
    );
    const gateway = await stack.startGateway(
      { SUPERGRAPH_SDL: file, SUPERGRAPH_POLL_INTERVAL_MS: '100', RESPONSE_CACHE: 'false', RATE_LIMITS_CONFIG: limits },
      { logger: silent },
    );
    const CATEGORIES = `{ categories { id } }`;
    assert.equal((await ask(gateway, CATEGORIES)).errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    writeFileSync(file, current);
    await eventually(async () => (await reloads(gateway, 'applied')) === 1, 10_000, 'the new supergraph applied');
    // Three fit in the products route; the fourth is refused by it, not waved through as the gateway's own.
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await ask(gateway, CATEGORIES)).errors?.[0]?.extensions?.code);
    assert.deepEqual(codes, [undefined, undefined, undefined, 'RATE_LIMITED']);
  });

  it('refuses to start on a supergraph that is not one, naming the variable', async () => {
    const file = join(dir, 'broken.graphql');
    writeFileSync(file, 'type Query { broken');
    await assert.rejects(
      stack.startGateway({ SUPERGRAPH_SDL: file }, { logger: silent }),
      /SUPERGRAPH_SDL: .*broken\.graphql/,
    );
  });
});

/** A subscription over Server-Sent Events (graphql-sse's distinct connections mode): its `next` payloads as they arrive. */
async function openEventStream(url: string, body: unknown, token: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  let received = '';
  const decoder = new TextDecoder();
  const ended = (async () => {
    for await (const chunk of res.body!) received += decoder.decode(chunk as Uint8Array, { stream: true });
  })();
  const events = () =>
    received
      .split('\n\n')
      .filter((block) => /^event: next$/m.test(block))
      .map((block) => JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Body);
  return { ended, events };
}

/** The supergraph with `removed` taken out of `subgraph`'s schema, composed as `npm run compose` does. */
function composeWithout(dir: string, subgraph: string, removed: string): string {
  dir = mkdtempSync(join(dir, 'variant-'));
  const config = parseYaml(readFileSync(join(repo, 'supergraph.yaml'), 'utf8')) as {
    subgraphs: Record<string, { schema: { file: string } }>;
  };
  for (const [name, entry] of Object.entries(config.subgraphs)) {
    const path = join(repo, entry.schema.file);
    if (name !== subgraph) {
      entry.schema.file = path;
      continue;
    }
    const schema = readFileSync(path, 'utf8');
    assert.ok(schema.includes(removed), `${path} has no "${removed.trim()}"`);
    entry.schema.file = join(dir, `${name}.graphql`);
    writeFileSync(entry.schema.file, schema.replace(removed, ''));
  }
  const file = join(dir, 'supergraph.yaml');
  writeFileSync(file, stringifyYaml(config));
  return composeFromConfig(file).sdl;
}

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => series[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
