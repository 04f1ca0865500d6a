import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConfigError } from '@storefront/platform/config';
import { createLogger } from '@storefront/platform/logger';
import { loadGatewayConfig, loadTrafficShaping, SHAPING_DEFAULTS, type RunningGateway } from '@storefront/gateway';
import { loadProductsConfig, startProducts } from '@storefront/products';
import { startFaultProxy, trafficFile, type FaultProxy } from '../support/fault-proxy.ts';
import { besideDependencies, startStack, type Stack } from '../support/stack.ts';

/**
 * Traffic shaping per subgraph (gateway/traffic.yaml) against a real
 * products subgraph behind a proxy that fails the requests it is told to:
 * queries are retried on 502/503/504, resets and timeouts, with backoff and
 * within a retry budget; mutations never are; a hanging subgraph costs the
 * request timeout per attempt and never more than the total; the circuit
 * breaker of a lone instance opens on a failure ratio, answers
 * SUBGRAPH_UNAVAILABLE at once while open, and closes after its probes pass.
 * What the client sees is asserted, and what the subgraph received, and the
 * gateway's Prometheus metrics.
 */
const CATALOG = `{ products(first: 3) { edges { node { id name } } } }`;
const CREATE_CATEGORY = `mutation($name: String!) { createCategory(name: $name) { id name } }`;
const silent = createLogger({ name: 'test', level: 'silent' });
const NO_BREAKER = { enabled: false };
/** Retries without waiting on the budget: for tests about something else. */
const AMPLE_BUDGET = { ratio: 1, min_per_second: 1000, window_ms: 10_000 };

interface Answer {
  status: number;
  text: string;
  ms: number;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

describe('traffic shaping per subgraph', { timeout: 300_000 }, () => {
  let stack: Stack;
  let proxy: FaultProxy;

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    proxy = await startFaultProxy(stack.services.products.url);
  });
  after(async () => {
    await proxy?.close();
    await stack?.stop();
  });
  beforeEach(() => {
    proxy.script = [];
    proxy.mode = 'pass';
    proxy.received = [];
  });

  /** A gateway whose products calls go through the proxy, shaped by `shaping` (the file's content). */
  const gatewayWith = async (shaping: Record<string, unknown>, products = proxy.url) => {
    const gateway = await stack.startGateway(
      // Every query must reach the subgraph: no response cache, no sharing of executions or fetches.
      {
        RESPONSE_CACHE: 'false',
        OPERATION_DEDUP: 'false',
        SUBGRAPH_DEDUP: 'false',
        TRAFFIC_SHAPING_CONFIG: trafficFile(shaping),
      },
      { subgraphUrls: { products }, logger: silent },
    );
    const ask = async (query = CATALOG, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> => {
      const started = Date.now();
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return { status: res.status, text, ms: Date.now() - started, body: JSON.parse(text) as Answer['body'] };
    };
    return {
      gateway,
      ask,
      metric: (name: string, labels: Record<string, string>) => metricValue(gateway, name, labels),
    };
  };

  const assertCatalog = (answer: Answer) => {
    assert.equal(answer.body.errors, undefined, answer.text);
    assert.equal(answer.body.data?.products?.edges.length, 3, answer.text);
  };
  const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;
  const modes = () => proxy.received.map((r) => r.mode);

  it('a query that meets 503, 502, 504 or a reset is tried again and answers; the client sees nothing of it', async () => {
    const { ask, metric } = await gatewayWith({
      all: {
        retry: { max_retries: 2, backoff: { initial_ms: 20, max_ms: 100 }, budget: AMPLE_BUDGET },
        circuit_breaker: NO_BREAKER,
      },
    });
    proxy.script = [503, 503];
    assertCatalog(await ask());
    assert.deepEqual(modes(), [503, 503, 'pass']);
    assert.equal(await metric('gateway_subgraph_retries_total', { subgraph: 'products', reason: 'http_503' }), 2);

    proxy.received = [];
    proxy.script = [502, 504];
    assertCatalog(await ask());
    assert.deepEqual(modes(), [502, 504, 'pass']);

    proxy.received = [];
    proxy.script = ['reset'];
    assertCatalog(await ask());
    assert.deepEqual(modes(), ['reset', 'pass']);
    assert.equal(await metric('gateway_subgraph_retries_total', { subgraph: 'products', reason: 'failed' }), 1);

    // The subgraph ran the first attempt and its answer was lost: the retry is signed anew (a replayed
    // signature would be refused), and the query answers.
    proxy.received = [];
    proxy.script = ['reset-after'];
    assertCatalog(await ask());
    assert.deepEqual(modes(), ['reset-after', 'pass']);

    // Out of retries (2): the client gets the failure, masked, after three attempts.
    proxy.received = [];
    proxy.mode = 503;
    const failed = await ask();
    assert.equal(codeOf(failed), 'INTERNAL_SERVER_ERROR', failed.text);
    assert.doesNotMatch(failed.text, /127\.0\.0\.1|upstream unavailable/);
    assert.deepEqual(modes(), [503, 503, 503]);
  });

  it('a hanging subgraph costs the request timeout per attempt and never more than the total timeout', async () => {
    const { ask, metric } = await gatewayWith({
      subgraphs: {
        products: {
          timeouts: { connect_ms: 500, request_ms: 1_000, total_ms: 2_500 },
          retry: { max_retries: 5, backoff: { initial_ms: 10, max_ms: 20 }, budget: AMPLE_BUDGET },
          circuit_breaker: NO_BREAKER,
        },
      },
    });
    proxy.mode = 'hang';
    const answer = await ask();
    assert.equal(codeOf(answer), 'SUBGRAPH_TIMEOUT', answer.text);
    assert.equal(answer.body.errors?.[0]?.extensions?.serviceName, 'products');
    // The total, or the attempt's limit when too little of the total was left to try again.
    assert.match(answer.body.errors[0].message, /^Subgraph "products" did not answer within (2500|1000) ms$/);
    assert.ok(answer.ms >= 1_950, `answered after ${answer.ms} ms, before two attempts could time out`);
    assert.ok(answer.ms < 4_000, `answered after ${answer.ms} ms (total timeout 2500 ms)`);
    // 1000 ms attempts: two timed out, a third was cut by the total.
    assert.ok(proxy.received.length >= 2 && proxy.received.length <= 3, `${proxy.received.length} attempts`);
    assert.ok((await metric('gateway_subgraph_retries_total', { subgraph: 'products', reason: 'timeout' })) >= 1);

    // The subgraph answers again: so does the gateway.
    proxy.mode = 'pass';
    assertCatalog(await ask());
  });

  it('a mutation is sent once: a 503, a reset, or an answer lost after it ran is never retried', async () => {
    const { ask, metric } = await gatewayWith({
      all: { retry: { max_retries: 3, budget: AMPLE_BUDGET }, circuit_breaker: NO_BREAKER },
    });
    const admin = await stack.logInAdmin();
    const name = `Shaping ${Date.now()}`;

    proxy.script = [503];
    const refused = await ask(CREATE_CATEGORY, { name: `${name} a` }, admin);
    assert.equal(codeOf(refused), 'INTERNAL_SERVER_ERROR', refused.text);
    proxy.script = ['reset'];
    const reset = await ask(CREATE_CATEGORY, { name: `${name} b` }, admin);
    assert.equal(codeOf(reset), 'SUBGRAPH_UNAVAILABLE', reset.text);
    // The subgraph creates the category, and the answer never comes back.
    proxy.script = ['reset-after'];
    const lost = await ask(CREATE_CATEGORY, { name: `${name} c` }, admin);
    assert.equal(codeOf(lost), 'SUBGRAPH_UNAVAILABLE', lost.text);
    assert.match(lost.body.errors![0]!.message, /closed the connection before answering/);

    assert.deepEqual(
      proxy.received.map((r) => [r.kind, r.mode]),
      [
        ['mutation', 503],
        ['mutation', 'reset'],
        ['mutation', 'reset-after'],
      ],
    );
    assert.equal(await metric('gateway_subgraph_retries_total', { subgraph: 'products', reason: 'http_503' }), 0);
    // The one that ran, ran once; the others never ran.
    const categories = await stack.query<{ categories: { name: string }[] }>(`{ categories { name } }`);
    const ours = categories.data!.categories.map((c) => c.name).filter((n) => n.startsWith(name));
    assert.deepEqual(ours, [`${name} c`]);

    // The same faults on a query are retried (the control).
    proxy.received = [];
    proxy.script = [503, 'reset'];
    assertCatalog(await ask());
    assert.deepEqual(modes(), [503, 'reset', 'pass']);
  });

  it('the circuit breaker of a lone instance opens on the failure ratio, refuses at once, half-opens and closes', async () => {
    const { ask, metric } = await gatewayWith({
      all: {
        retry: { max_retries: 0 },
        circuit_breaker: {
          failure_ratio: 0.5,
          window_ms: 10_000,
          minimum_calls: 4,
          open_ms: 3_000,
          half_open_probes: 2,
        },
      },
    });
    const state = async () => {
      for (const each of ['closed', 'open', 'half_open'])
        if ((await metric('gateway_subgraph_circuit_state', { subgraph: 'products', state: each })) === 1) return each;
      return 'none';
    };
    const transitions = (to: string) =>
      metric('gateway_subgraph_circuit_transitions_total', { subgraph: 'products', to });

    assertCatalog(await ask());
    assert.equal(await state(), 'closed');
    proxy.mode = 503;
    // 1 success and 3 failures: the minimum of 4 calls is reached at the third failure (3/4 ≥ 0.5).
    for (let i = 0; i < 3; i++) assert.equal(codeOf(await ask()), 'INTERNAL_SERVER_ERROR');
    assert.equal(await state(), 'open');
    assert.equal(proxy.received.length, 4);

    // Open: answered at once, nothing sent — were it sent, this hanging subgraph would hold it for the
    // request timeout (5000 ms).
    proxy.mode = 'hang';
    const refused = await ask();
    assert.equal(codeOf(refused), 'SUBGRAPH_UNAVAILABLE', refused.text);
    assert.equal(refused.body.errors![0]!.message, 'Subgraph "products" is unavailable');
    assert.ok(refused.ms < 3_000, `refused after ${refused.ms} ms`);
    proxy.mode = 503;
    assert.equal(proxy.received.length, 4, 'nothing reached the subgraph while the breaker was open');
    assert.equal(await metric('gateway_subgraph_circuit_refused_total', { subgraph: 'products' }), 1);

    // After open_ms a probe goes through; it fails: open again, for another open_ms.
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    assert.equal(codeOf(await ask()), 'INTERNAL_SERVER_ERROR');
    assert.equal(proxy.received.length, 5);
    assert.equal(await state(), 'open');
    assert.equal(codeOf(await ask()), 'SUBGRAPH_UNAVAILABLE');

    // The subgraph recovers: two probes pass and the breaker closes.
    proxy.mode = 'pass';
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    assertCatalog(await ask());
    assert.equal(await state(), 'half_open');
    assertCatalog(await ask());
    assert.equal(await state(), 'closed');
    for (let i = 0; i < 5; i++) assertCatalog(await ask());

    assert.equal(await transitions('open'), 2);
    assert.equal(await transitions('half_open'), 2);
    assert.equal(await transitions('closed'), 1);
  });

  it('with several instances, a failing one is retried on another, and its breaker opens while the others serve', async () => {
    const second = await startProducts(
      loadProductsConfig(stack.env),
      besideDependencies(stack.services.products, silent),
    );
    try {
      const { ask, metric } = await gatewayWith(
        {
          all: {
            health_check: { interval_ms: 600_000 },
            retry: { max_retries: 1, budget: AMPLE_BUDGET },
            circuit_breaker: { minimum_calls: 3, open_ms: 60_000 },
          },
        },
        `${proxy.url}, ${second.url}`,
      );
      proxy.mode = 503;
      // Every answer is whole: a 503 of the proxied instance is retried on the other.
      for (let i = 0; i < 12; i++) assertCatalog(await ask());
      const open = (instance: string) =>
        metric('gateway_subgraph_circuit_state', { subgraph: 'products', instance, state: 'open' });
      assert.equal(await open(proxy.url), 1);
      assert.equal(await open(second.url), 0);
      // Round-robin sent it every other query until its breaker opened (3 failures of 3 calls); none since.
      assert.deepEqual(modes(), [503, 503, 503]);
      assert.equal(await metric('gateway_subgraph_circuit_refused_total', { subgraph: 'products' }), 0);
    } finally {
      await second.stop();
    }
  });

  it('the retry budget caps retries at its ratio of the traffic, whatever max_retries allows', async () => {
    const { ask, metric } = await gatewayWith({
      all: {
        retry: {
          max_retries: 3,
          backoff: { initial_ms: 0, max_ms: 0 },
          budget: { ratio: 0.1, min_per_second: 0, window_ms: 60_000 },
        },
        circuit_breaker: NO_BREAKER,
      },
    });
    proxy.mode = 503;
    for (let i = 0; i < 30; i++) assert.equal(codeOf(await ask()), 'INTERNAL_SERVER_ERROR');
    // Without the budget: 30 × 4 = 120 requests. With it: one retry per 10 requests.
    assert.equal(proxy.received.length, 33);
    assert.equal(await metric('gateway_subgraph_retries_total', { subgraph: 'products', reason: 'http_503' }), 3);
    // Refused: the first retry of the 27 other requests, and the second of the 3 that had one.
    assert.equal(
      await metric('gateway_subgraph_retries_refused_total', { subgraph: 'products', reason: 'budget' }),
      30,
    );
  });

  it('refuses a bad traffic-shaping file at start, naming the key', async () => {
    const names = ['users', 'products', 'orders', 'notifications'];
    const refused = async (content: string, problem: RegExp) => {
      const path = trafficFile({});
      writeFileSync(path, content);
      assert.throws(
        () => loadTrafficShaping(path, names),
        (error: Error) => /^TRAFFIC_SHAPING_CONFIG: /.test(error.message) && problem.test(error.message),
        content,
      );
    };
    await refused('all:\n  timeouts:\n    request_ms: -5\n', /all\.timeouts\.request_ms: must be at least 1/);
    await refused('all:\n  timeout:\n    request_ms: 5\n', /all\.timeout: unknown key/);
    await refused(
      'subgraphs:\n  products:\n    retry:\n      retries: 2\n',
      /subgraphs\.products\.retry\.retries: unknown key/,
    );
    await refused(
      'subgraphs:\n  products:\n    instances:\n      - { url: http://a:1/graphql, weight: 1001 }\n',
      /subgraphs\.products\.instances\.0\.weight: must be a whole number from 1 to 1000/,
    );
    await refused('all:\n  instances: []\n', /all\.instances: unknown key/);
    await refused('subgraphs:\n  reviews: {}\n', /subgraphs\.reviews: no such subgraph/);
    await refused('all:\n  retry:\n    budget:\n      ratio: 1.5\n', /all\.retry\.budget\.ratio: must be from 0 to 1/);
    await refused('all:\n  circuit_breaker:\n    failure_ratio: 0\n', /all\.circuit_breaker\.failure_ratio/);
    await refused(
      'all:\n  timeouts:\n    request_ms: "5s"\n',
      /all\.timeouts\.request_ms: must be a number of milliseconds/,
    );
    await refused(
      'subgraphs:\n  orders:\n    timeouts:\n      request_ms: 20000\n',
      /subgraphs\.orders\.timeouts\.request_ms: 20000 is longer than timeouts\.total_ms \(10000\)/,
    );
    // The gateway refuses to start on one, with the same message.
    const path = trafficFile({ all: { pool: { max_connections: 0 } } });
    await assert.rejects(stack.startGateway({ TRAFFIC_SHAPING_CONFIG: path }), /all\.pool\.max_connections/);

    // Overrides merge key by key over `all`, which merges over the defaults.
    const shaping = loadTrafficShaping(
      trafficFile({
        all: { timeouts: { request_ms: 3_000 }, retry: { budget: { ratio: 0.5 } } },
        subgraphs: { orders: { timeouts: { total_ms: 4_000 }, circuit_breaker: { enabled: false } } },
      }),
      names,
    );
    assert.deepEqual(shaping.get('orders')!.timeouts, { connect_ms: 2_000, request_ms: 3_000, total_ms: 4_000 });
    assert.equal(shaping.get('orders')!.circuit_breaker.enabled, false);
    assert.equal(shaping.get('orders')!.retry.budget.ratio, 0.5);
    assert.equal(shaping.get('orders')!.retry.budget.window_ms, SHAPING_DEFAULTS.retry.budget.window_ms);
    assert.deepEqual(shaping.get('users'), {
      ...SHAPING_DEFAULTS,
      timeouts: { ...SHAPING_DEFAULTS.timeouts, request_ms: 3_000 },
      retry: { ...SHAPING_DEFAULTS.retry, budget: { ...SHAPING_DEFAULTS.retry.budget, ratio: 0.5 } },
    });
    // The shipped file states the defaults, every one of them.
    const shipped = loadTrafficShaping(loadGatewayConfig({}).TRAFFIC_SHAPING_CONFIG, names);
    assert.ok(loadGatewayConfig({}).TRAFFIC_SHAPING_CONFIG.endsWith('gateway/traffic.yaml'));
    for (const name of names) assert.deepEqual(shipped.get(name), SHAPING_DEFAULTS);

    // The variables traffic.yaml replaced stop the start instead of being ignored.
    assert.throws(
      () => loadGatewayConfig({ SUBGRAPH_TIMEOUT_MS: '1500' }),
      (error: Error) =>
        error instanceof ConfigError && /SUBGRAPH_TIMEOUT_MS: .*all\.timeouts\.total_ms/.test(error.message),
    );
  });
});

/** One series of the gateway's metrics (0 when it has none yet). */
async function metricValue(gateway: RunningGateway, name: string, labels: Record<string, string>): Promise<number> {
  const text = await gateway.metrics.render();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => series[key] === value)) {
      sum += Number(match[3]);
      found = true;
    }
  }
  return found ? sum : 0;
}
