import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@storefront/platform/config';
import { createLogger } from '@storefront/platform/logger';
import type { RunningService } from '@storefront/platform/service';
import { eventually } from '@storefront/platform/testing';
import { loadGatewayConfig, loadTrafficShaping, startGateway, type SubgraphFetchEvent } from '@storefront/gateway';
import { loadProductsConfig, startProducts } from '@storefront/products';
import { trafficFile } from '../support/fault-proxy.ts';
import { besideDependencies, startStack, type Stack } from '../support/stack.ts';

/**
 * Several instances of one subgraph behind the gateway (SUBGRAPH_URL_PRODUCTS
 * lists them): queries are spread round-robin or by weight; a dead instance
 * (nothing listening) and a slow one (accepts, never answers) cost at most the
 * timeout and are then skipped — passively after a failed fetch, actively by
 * the /readyz health checks — and a dead instance that comes back gets traffic
 * again. Each request the gateway sends is seen through `onSubgraphFetch`.
 */
const CATALOG = `{ products(first: 3) { edges { node { id name } } } }`;
const silent = createLogger({ name: 'test', level: 'silent' });

describe('load balancing over subgraph instances', { timeout: 300_000 }, () => {
  let stack: Stack;
  let second: RunningService;
  let a: string;
  let b: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    second = await startProducts(loadProductsConfig(stack.env), besideDependencies(stack.services.products, silent));
    cleanups.push(() => second.stop());
    a = stack.services.products.url;
    b = second.url;
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await stack?.stop();
  });

  /** A gateway on the stack's subgraphs, products on `products`; records every subgraph request. */
  const gatewayWith = async (products: string, env: Record<string, string> = {}) => {
    const events: SubgraphFetchEvent[] = [];
    const gateway = await stack.startGateway(
      // Every query must reach the subgraph: no response cache, no sharing of identical executions.
      { RESPONSE_CACHE: 'false', OPERATION_DEDUP: 'false', ...env },
      { subgraphUrls: { products }, logger: silent, onSubgraphFetch: (event) => events.push(event) },
    );
    cleanups.push(() => gateway.stop());
    const ask = async () => {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: CATALOG }),
      });
      const text = await res.text();
      return {
        text,
        body: JSON.parse(text) as {
          data?: { products?: { edges: unknown[] } } | null;
          errors?: { message: string; extensions?: Record<string, unknown> }[];
        },
      };
    };
    /** Products requests per instance since `from` (an index into the events). */
    const perInstance = (from = 0) => {
      const counts: Record<string, number> = {};
      for (const event of events.slice(from))
        if (event.subgraph === 'products') counts[event.instance] = (counts[event.instance] ?? 0) + 1;
      return counts;
    };
    return { gateway, events, ask, perInstance };
  };

  const askOk = async (
    ask: () => Promise<{
      text: string;
      body: { data?: { products?: { edges: unknown[] } } | null; errors?: unknown[] };
    }>,
  ) => {
    const res = await ask();
    assert.equal(res.body.errors, undefined, res.text);
    assert.equal(res.body.data?.products?.edges.length, 3, res.text);
  };

  it('spreads queries over the listed instances in turn; the supergraph routes to the first', async () => {
    const { gateway, ask, perInstance } = await gatewayWith(`${a}, ${b}`);
    assert.equal(gateway.supergraph.subgraphs.find((s) => s.name === 'products')?.url, a);
    for (let i = 0; i < 20; i++) await askOk(ask);
    assert.deepEqual(perInstance(), { [a]: 10, [b]: 10 });
  });

  it('shares the traffic in proportion to the weights', async () => {
    const { ask, perInstance } = await gatewayWith(`${a} weight=3, ${b}`);
    for (let i = 0; i < 40; i++) await askOk(ask);
    assert.deepEqual(perInstance(), { [a]: 30, [b]: 10 });
  });

  describe('with a dead and a slow instance listed', () => {
    let slow: Server;
    const slowSeen = { post: 0, readyz: 0 };
    let slowUrl: string;
    let deadPort: number;
    let deadUrl: string;

    before(async () => {
      // Accepts connections and requests, never answers.
      slow = createServer((req) => {
        if (req.method === 'POST') slowSeen.post++;
        if (req.url === '/readyz') slowSeen.readyz++;
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/graphql`;
      cleanups.push(async () => {
        slow.closeAllConnections();
        await new Promise((resolve) => slow.close(resolve));
      });
      // A port that was free a moment ago: nothing listens there.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      deadPort = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      deadUrl = `http://127.0.0.1:${deadPort}/graphql`;
    });

    it('a fetch that hits the slow instance costs about the timeout and fails cleanly; a refused one is retried; both are then skipped', async () => {
      // No health check during this test: what is seen here is passive ejection. The timeout leaves the
      // healthy instance room on a loaded machine; the slow one must cost about that much, not more.
      const { ask, events, perInstance } = await gatewayWith(`${slowUrl}, ${deadUrl}, ${a}`, {
        TRAFFIC_SHAPING_CONFIG: trafficFile({
          all: {
            timeouts: { connect_ms: 1000, request_ms: 1000, total_ms: 1000 },
            health_check: { interval_ms: 600_000 },
          },
        }),
      });

      // First in turn: the slow instance.
      const started = Date.now();
      const timedOut = await ask();
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 2_500, `the slow instance held the query ${elapsed} ms (timeout 1000 ms)`);
      assert.equal(timedOut.body.data?.products ?? null, null, timedOut.text);
      const [error] = timedOut.body.errors ?? [];
      assert.equal(error?.extensions?.code, 'SUBGRAPH_TIMEOUT', timedOut.text);
      assert.equal(error?.extensions?.serviceName, 'products', timedOut.text);
      assert.match(error.message, /"products"/);
      assert.doesNotMatch(timedOut.text, /127\.0\.0\.1|stacktrace/, 'no address or stack trace reaches the client');

      // Next in turn: the dead instance; its connection is refused and the query goes to the good one.
      await askOk(ask);
      assert.deepEqual(
        events.filter((e) => e.subgraph === 'products').map((e) => [e.instance, e.outcome]),
        [
          [slowUrl, 'timeout'],
          [deadUrl, 'unreachable'],
          [a, 'ok'],
        ],
      );

      // Both are out of the rotation now.
      const from = events.length;
      for (let i = 0; i < 10; i++) await askOk(ask);
      assert.deepEqual(perInstance(from), { [a]: 10 });
      assert.equal(slowSeen.post, 1);
    });

    it('health checks keep failing instances out before any query hits them, and let a recovered one back', async () => {
      const readyzBefore = slowSeen.readyz;
      const postsBefore = slowSeen.post;
      const { ask, events, perInstance } = await gatewayWith(`${slowUrl}, ${deadUrl}, ${a}`, {
        TRAFFIC_SHAPING_CONFIG: trafficFile({
          all: { timeouts: { request_ms: 2000, total_ms: 2000 }, health_check: { interval_ms: 500 } },
        }),
      });
      // Each check of the slow instance starts only after the one before gave up on it (500 ms): when the
      // fourth arrives, three have failed in a row (health_check.unhealthy_threshold) and it is out. The
      // dead instance's checks (refused at once) have failed as often by then.
      await eventually(() => slowSeen.readyz >= readyzBefore + 4, 15_000, 'four health checks of the slow instance');

      for (let i = 0; i < 12; i++) await askOk(ask);
      assert.deepEqual(perInstance(), { [a]: 12 });
      assert.equal(slowSeen.post, postsBefore, 'no query reached the slow instance');

      // The dead instance comes back: a products instance starts on its port.
      const revived = await startProducts(
        loadProductsConfig({ ...stack.env, PRODUCTS_PORT: String(deadPort) }),
        besideDependencies(stack.services.products, silent),
      );
      cleanups.push(() => revived.stop());
      await eventually(
        async () => {
          await askOk(ask);
          return events.some((e) => e.instance === deadUrl && e.outcome === 'ok');
        },
        20_000,
        'a query served by the revived instance',
      );
      assert.equal(slowSeen.post, postsBefore, 'still no query reached the slow instance');
    });
  });

  it('refuses a bad instance list, naming the key', async () => {
    const refused = (value: string, problem: RegExp) =>
      assert.throws(
        () => loadGatewayConfig({ ...stack.env, SUBGRAPH_URL_PRODUCTS: value }),
        (error: Error) =>
          error instanceof ConfigError && /SUBGRAPH_URL_PRODUCTS: /.test(error.message) && problem.test(error.message),
        value,
      );
    refused('products:4002', /not a URL|http/);
    refused('http://a:4002 weight=0', /weight/);
    refused('http://a:4002 weight=-2', /weight/);
    refused('http://a:4002 weight=1.5', /weight/);
    refused('http://a:4002 wieght=2', /unknown option "wieght=2"/);
    refused('http://a:4002,, http://b:4002', /empty entry/);
    refused('http://a:4002, http://a:4002', /twice/);
    refused('ftp://a:4002', /http/);
    // Health checks and pools are set per subgraph in traffic.yaml (traffic-shaping.test.ts checks the rest).
    const names = Object.keys(stack.services);
    assert.throws(
      () => loadTrafficShaping(trafficFile({ all: { health_check: { interval_ms: 5 } } }), names),
      /all\.health_check\.interval_ms: must be at least 50/,
    );
    assert.throws(
      () => loadTrafficShaping(trafficFile({ subgraphs: { products: { pool: { max_connections: 0 } } } }), names),
      /subgraphs\.products\.pool\.max_connections/,
    );
    // URLs handed to startGateway directly (as the test stack and `npm start` do) are checked as well.
    await assert.rejects(
      startGateway(
        {
          ...loadGatewayConfig({ ...stack.env, GATEWAY_PORT: '0' }),
          subgraphUrls: { ...urlsOf(stack), products: `${a} weight=x` },
        },
        { logger: silent },
      ),
      /SUBGRAPH_URL_PRODUCTS: weight/,
    );
  });
});

const urlsOf = (stack: Stack): Record<string, string> =>
  Object.fromEntries(Object.values(stack.services).map((s) => [s.name, s.url]));
