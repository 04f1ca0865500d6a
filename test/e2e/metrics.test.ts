import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadGatewayConfig, type RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Prometheus metrics at /metrics: what an operator's dashboard reads. After
 * a known set of requests the counters must say exactly what happened —
 * requests by operation type and outcome, and requests sent to each subgraph.
 */

/** The series of one metric in Prometheus text: labels and value. */
function seriesOf(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const found = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}

/**
 * The sum of a metric's series that carry `labels` (what `sum(name{labels})`
 * gives in Prometheus); 0 when there is none, as for a new series.
 */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  return seriesOf(text, name)
    .filter((series) => Object.entries(labels).every(([key, value]) => series.labels[key] === value))
    .reduce((sum, series) => sum + series.value, 0);
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

  it('labels requests by operation name and client app, and times each operation', async () => {
    const before = (await scrape()).text;
    // As Apollo Client sends them: the operation's name beside the document, so a document that fails
    // validation is still counted under it.
    const ask = (operation: string, client?: { name: string; version: string }) =>
      fetch(stack.gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(client
            ? { 'apollographql-client-name': client.name, 'apollographql-client-version': client.version }
            : {}),
        },
        body: JSON.stringify({ query: operation, operationName: /^query (\w+)/.exec(operation)?.[1] }),
      }).then((res) => res.json() as Promise<{ errors?: unknown[] }>);
    const ios = { name: 'storefront-ios', version: '7.1.0' };
    for (const first of [1, 2]) {
      const body = await ask(`query MetricsCatalog { products(first: ${first}) { edges { node { id } } } }`, ios);
      assert.equal(body.errors, undefined);
    }
    await ask(`query MetricsCatalog { products(first: 1) { edges { node { nope } } } }`, ios);
    await ask(`{ products(first: 3) { edges { node { id } } } }`);

    const after = (await scrape()).text;
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const catalog = { operation_name: 'MetricsCatalog', client_name: 'storefront-ios', client_version: '7.1.0' };
    assert.equal(delta('gateway_graphql_requests_total', { ...catalog, operation_type: 'query', outcome: 'ok' }), 2);
    assert.equal(delta('gateway_graphql_requests_total', { ...catalog, outcome: 'GRAPHQL_VALIDATION_FAILED' }), 1);
    // An anonymous operation from an app that does not say which it is: empty labels, as Prometheus shows absent ones.
    assert.equal(
      delta('gateway_graphql_requests_total', {
        operation_name: '',
        client_name: '',
        client_version: '',
        outcome: 'ok',
      }),
      1,
    );
    assert.equal(
      delta('gateway_graphql_request_duration_seconds_count', {
        operation_type: 'query',
        operation_name: 'MetricsCatalog',
      }),
      2,
    );
    assert.ok(
      delta('gateway_graphql_request_duration_seconds_bucket', {
        operation_name: 'MetricsCatalog',
        operation_type: 'query',
        le: '+Inf',
      }) === 2,
    );
  });

  it('keeps a flood of distinct operation names and apps to a bounded number of series', async () => {
    // Rate limits off for this gateway: the point is the flood of names, not the flood of requests.
    const dir = mkdtempSync(join(tmpdir(), 'storefront-metrics-'));
    writeFileSync(join(dir, 'rate-limits.yaml'), 'enabled: false\n');
    const gateway = await stack.startGateway({
      METRICS_MAX_OPERATION_NAMES: '20',
      METRICS_MAX_CLIENTS: '5',
      RATE_LIMITS_CONFIG: join(dir, 'rate-limits.yaml'),
    });
    try {
      // 500 requests through the whole gateway (gateway/test/metrics/cardinality.test.ts sends 10,000 names in process).
      const names = Array.from({ length: 500 }, () => `Flood_${randomBytes(8).toString('hex')}`);
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const i = next++;
          const res = await fetch(gateway.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'apollographql-client-name': `app-${i % 50}`,
              'apollographql-client-version': '1.0.0',
            },
            body: JSON.stringify({ query: `query ${names[i]} { __typename }` }),
          });
          assert.equal(res.status, 200, await res.text());
          await res.arrayBuffer().catch(() => {});
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));

      const { text } = await scrape(gateway.metricsUrl);
      const requests = seriesOf(text, 'gateway_graphql_requests_total');
      const operationNames = new Set(requests.map((s) => s.labels.operation_name));
      const clients = new Set(requests.map((s) => `${s.labels.client_name}@${s.labels.client_version}`));
      // The first 20 names, then `other`; 5 apps, then `other`.
      assert.equal(operationNames.size, 21, [...operationNames].join(', '));
      assert.ok(operationNames.has('other'));
      assert.ok(operationNames.has(names[0]));
      assert.equal(clients.size, 6, [...clients].join(', '));
      assert.ok(clients.has('other@other'));
      // Every request was counted, whatever its label.
      assert.equal(
        sample(text, 'gateway_graphql_requests_total', { operation_type: 'query', outcome: 'ok' }),
        names.length,
      );
      assert.ok(seriesOf(text, 'gateway_graphql_request_duration_seconds_count').length <= 21);
    } finally {
      await gateway.stop();
    }
  });

  it('serves OpenMetrics to a scraper that asks for it', async () => {
    const res = await fetch(stack.gateway.metricsUrl!, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
    const text = await res.text();
    // OpenMetrics names a counter's family without `_total`, its samples with it, and ends with # EOF.
    assert.match(text, /^# TYPE gateway_graphql_requests counter$/m);
    assert.match(text, /^gateway_graphql_requests_total\{/m);
    assert.match(text, /# EOF\n$/);
    assert.equal(text.match(/^# EOF$/gm)?.length, 1, 'one EOF, at the end');
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
