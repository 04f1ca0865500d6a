import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadGatewayConfig, type RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Prometheus metrics at /metrics: what an operator's dashboard reads. After
 * a known set of requests the counters must say exactly what happened —
 * requests by operation type and outcome, and requests sent to each subgraph.
 */

/** The value of one series in Prometheus text (0 when absent, as Prometheus would treat a new series). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (
      Object.entries(labels).every(([key, value]) => found[key] === value) &&
      Object.keys(found).length === Object.keys(labels).length
    ) {
      return Number(match[3]);
    }
  }
  return 0;
}

describe('gateway metrics', { timeout: 300_000 }, () => {
  let stack: Stack;
  const scrape = async (url = stack.gateway.metricsUrl!) => {
    const res = await fetch(url);
    assert.equal(res.status, 200, await res.clone().text());
    return { text: await res.text(), contentType: res.headers.get('content-type') };
  };

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
  });
  after(() => stack?.stop());

  it('serves Prometheus text on the gateway port by default, with process metrics', async () => {
    assert.equal(new URL(stack.gateway.metricsUrl!).port, String(stack.gateway.port));
    assert.equal(new URL(stack.gateway.metricsUrl!).pathname, '/metrics');
    const { text, contentType } = await scrape();
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^# TYPE gateway_graphql_requests_total counter$/m);
    assert.match(text, /^# TYPE gateway_subgraph_fetches_total counter$/m);
    assert.ok(sample(text, 'process_cpu_seconds_total') > 0, 'process metrics missing');
    assert.equal(sample(text, 'gateway_websocket_connections'), 0);
  });

  it('counts requests by operation type and outcome, and the fetches sent to each subgraph', async () => {
    const before = (await scrape()).text;
    const fetchesBefore = stack.gateway.subgraphFetches();

    // Three catalog pages (distinct, so nothing is shared or cached between them), one log-in,
    // one invalid query and one request with a bad token.
    for (const first of [1, 2, 3]) {
      const res = await stack.query(`query($first: Int!) { products(first: $first) { edges { node { id name } } } }`, {
        first,
      });
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    }
    const { email } = await stack.signUp('Metrics Customer');
    const login = await stack.query(
      `mutation($e: String!) { logIn(email: $e, password: "a-good-password-1") { accessToken } }`,
      { e: email },
    );
    assert.ok(login.data?.logIn.accessToken, JSON.stringify(login.errors));
    const invalid = await stack.query(`{ products(first: 1) { edges { node { noSuchField } } } }`);
    assert.equal(invalid.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const refused = await stack.query(`{ products(first: 1) { edges { node { id } } } }`, {}, 'not-a-token');
    assert.equal(refused.status, 401);

    const after = (await scrape()).text;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta('gateway_graphql_requests_total', { operation_type: 'query', outcome: 'ok' }), 3);
    // signUp and logIn
    assert.equal(delta('gateway_graphql_requests_total', { operation_type: 'mutation', outcome: 'ok' }), 2);
    assert.equal(
      delta('gateway_graphql_requests_total', { operation_type: 'none', outcome: 'GRAPHQL_VALIDATION_FAILED' }),
      1,
    );
    assert.equal(delta('gateway_graphql_requests_total', { operation_type: 'none', outcome: 'UNAUTHENTICATED' }), 1);
    assert.equal(delta('gateway_graphql_request_duration_seconds_count', { operation_type: 'query' }), 3);
    assert.ok(delta('gateway_graphql_request_duration_seconds_sum', { operation_type: 'query' }) > 0);

    // One fetch per catalog page from products; sign-up and log-in from users; nothing else.
    const fetchesAfter = stack.gateway.subgraphFetches();
    assert.equal(delta('gateway_subgraph_fetches_total', { subgraph: 'products' }), 3);
    assert.equal(delta('gateway_subgraph_fetches_total', { subgraph: 'users' }), 2);
    assert.equal(delta('gateway_subgraph_fetches_total', { subgraph: 'orders' }), 0);
    for (const name of ['users', 'products']) {
      assert.equal(
        sample(after, 'gateway_subgraph_fetches_total', { subgraph: name }),
        fetchesAfter[name],
        `${name}: metrics and subgraphFetches() disagree`,
      );
      assert.ok(fetchesAfter[name]! > (fetchesBefore[name] ?? 0));
    }
  });

  it('lets other parts register figures read when scraped', async () => {
    let hits = 41;
    stack.gateway.metrics.counter('gateway_test_cache_hits_total', 'Hits of a cache under test.', () => hits);
    stack.gateway.metrics.gauge(
      'gateway_test_cache_entries',
      'Entries by tier.',
      () => ({ memory: 5, redis: 7 }),
      'tier',
    );
    hits += 1;
    const { text } = await scrape();
    assert.equal(sample(text, 'gateway_test_cache_hits_total'), 42);
    assert.equal(sample(text, 'gateway_test_cache_entries', { tier: 'memory' }), 5);
    assert.equal(sample(text, 'gateway_test_cache_entries', { tier: 'redis' }), 7);
  });

  it('serves nothing at /metrics with METRICS=false', async () => {
    const gateway = await stack.startGateway({ METRICS: 'false' });
    try {
      assert.equal(gateway.metricsUrl, undefined);
      const res = await fetch(new URL('/metrics', gateway.url));
      assert.equal(res.status, 404);
      assert.equal(
        ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
        'NOT_FOUND',
      );
      // The gateway itself still answers.
      const ok = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ products(first: 1) { edges { node { id } } } }' }),
      });
      assert.equal(ok.status, 200);
    } finally {
      await gateway.stop();
    }
  });

  it('with METRICS_PORT, serves the metrics on that port only', async () => {
    let gateway: RunningGateway | undefined;
    try {
      gateway = await stack.startGateway({ METRICS_PORT: '0', METRICS_PATH: '/internal/metrics' });
      const metricsUrl = new URL(gateway.metricsUrl!);
      assert.notEqual(metricsUrl.port, String(gateway.port));
      assert.equal(metricsUrl.pathname, '/internal/metrics');
      const { text } = await scrape(metricsUrl.toString());
      assert.match(text, /gateway_graphql_requests_total/);
      assert.equal(
        (await fetch(new URL('/internal/metrics', gateway.url))).status,
        404,
        'the public port must not serve the metrics',
      );
    } finally {
      await gateway?.stop();
    }
  });

  it('refuses a metrics path that would shadow the API, naming the key', () => {
    assert.throws(() => loadGatewayConfig({ METRICS_PATH: '/graphql' }), /METRICS_PATH: must not be one of \/graphql/);
    assert.throws(() => loadGatewayConfig({ METRICS: 'sometimes' }), /METRICS:/);
  });
});
