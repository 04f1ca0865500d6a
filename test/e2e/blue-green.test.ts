import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@storefront/platform/logger';
import type { RunningService } from '@storefront/platform/service';
import { captureLogs, eventually } from '@storefront/platform/testing';
import type { RunningGateway, SubgraphFetchEvent } from '@storefront/gateway';
import { loadProductsConfig, startProducts } from '@storefront/products';
import { startFaultProxy, trafficFile, type FaultProxy } from '../support/fault-proxy.ts';
import { besideDependencies, startStack, type Stack } from '../support/stack.ts';

/**
 * The blue-green and canary procedure of docs/rollouts.md, run against real
 * products instances: blue (the stack's) serves; green (a second instance,
 * behind a proxy that can fail it) is started and gets traffic only when the
 * traffic-shaping file lists it, by weight. The file is rewritten while
 * catalog queries keep running, as an operator (or a pipeline) would: a 3:1
 * canary, green failing until its breaker opens, the rollback to blue alone,
 * then the full shift to green. The gateway is never restarted and no query
 * fails. Bad files are refused, at start and on reload, naming the key.
 */
const CATALOG = `{ products(first: 3) { edges { node { id name } } } }`;
const silent = createLogger({ name: 'test', level: 'silent' });
/**
 * Small windows so the test's breaker opens after a few failures; retries never wait on the budget; no
 * health check within the test (on a loaded machine a slow /readyz would take an instance out and skew the shares).
 */
const SETTINGS = {
  all: {
    health_check: { interval_ms: 600_000 },
    retry: { max_retries: 2, backoff: { initial_ms: 0, max_ms: 10 }, budget: { ratio: 1, min_per_second: 1000 } },
    circuit_breaker: { minimum_calls: 4, failure_ratio: 0.5, window_ms: 10_000, open_ms: 60_000 },
  },
};

type Answer = { data?: { products?: { edges: unknown[] } } | null; errors?: unknown[] };

describe('blue-green and canary of a subgraph', { timeout: 300_000 }, () => {
  let stack: Stack;
  let green: RunningService;
  let greenProxy: FaultProxy;
  let blue: string;

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    green = await startProducts(loadProductsConfig(stack.env), besideDependencies(stack.services.products, silent));
    greenProxy = await startFaultProxy(green.url);
    blue = stack.services.products.url;
  });
  after(async () => {
    await greenProxy?.close();
    await green?.stop();
    await stack?.stop();
  });

  /** A gateway whose products instances come from `file`, read again every 100 ms; records every subgraph fetch. */
  const gatewayOn = async (file: string, logger = silent) => {
    const events: SubgraphFetchEvent[] = [];
    const gateway = await stack.startGateway(
      {
        TRAFFIC_SHAPING_CONFIG: file,
        TRAFFIC_SHAPING_POLL_INTERVAL_MS: '100',
        // Every query must reach products: no response cache, no sharing.
        RESPONSE_CACHE: 'false',
        OPERATION_DEDUP: 'false',
        SUBGRAPH_DEDUP: 'false',
      },
      { logger, onSubgraphFetch: (event) => events.push(event) },
    );
    const ask = async (): Promise<Answer> => {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: CATALOG }),
      });
      return (await res.json()) as Answer;
    };
    /** Products fetches per instance from event `from` on. */
    const perInstance = (from: number) => {
      const counts: Record<string, number> = {};
      for (const event of events.slice(from))
        if (event.subgraph === 'products') counts[event.instance] = (counts[event.instance] ?? 0) + 1;
      return counts;
    };
    const reloads = async (outcome: string) =>
      metricValue(gateway, 'gateway_traffic_config_reloads_total', { outcome });
    return { gateway, events, ask, perInstance, reloads };
  };

  it('shifts traffic by weights from a reloaded file and rolls back on the breaker, without a restart or a failed query', async () => {
    const write = (instances: { url: string; weight?: number }[]) =>
      writeFileSync(file, JSON.stringify({ ...SETTINGS, subgraphs: { products: { instances } } }));
    const file = trafficFile({ ...SETTINGS, subgraphs: { products: { instances: [{ url: blue }] } } });
    const { gateway, events, ask, perInstance, reloads } = await gatewayOn(file);

    // Customers keep browsing the catalog through every step.
    let running = true;
    const answers: Answer[] = [];
    const load = (async () => {
      while (running) answers.push(await ask());
    })();
    const step = async (applied: number) => {
      await eventually(async () => (await reloads('applied')) === applied, 10_000, `reload ${applied} applied`);
      // A fetch sent just before the reload may end just after it: count from a few fetches later.
      const settled = events.length + 3;
      await eventually(async () => events.length >= settled, 10_000, 'traffic after the reload');
      const from = settled;
      await eventually(async () => events.length - from >= 40, 30_000, 'traffic after the reload');
      return perInstance(from);
    };

    try {
      // Blue alone: the file's instances win over SUBGRAPH_URL_PRODUCTS (the stack's URL, the same here).
      await eventually(async () => answers.length >= 10, 10_000, 'load running');
      assert.deepEqual(Object.keys(perInstance(0)), [blue]);

      // Canary: green takes a quarter of the fetches.
      write([
        { url: blue, weight: 3 },
        { url: greenProxy.url, weight: 1 },
      ]);
      const canary = await step(1);
      const share = (canary[greenProxy.url] ?? 0) / ((canary[greenProxy.url] ?? 0) + (canary[blue] ?? 0));
      assert.ok(share > 0.15 && share < 0.35, `green's share ${share}: ${JSON.stringify(canary)}`);

      // Green starts failing: its queries are retried on blue, its breaker opens — the signal to roll back.
      greenProxy.mode = 503;
      await eventually(
        async () =>
          (await metricValue(gateway, 'gateway_subgraph_circuit_state', {
            subgraph: 'products',
            instance: greenProxy.url,
            state: 'open',
          })) === 1,
        30_000,
        "green's breaker to open",
      );
      write([{ url: blue }]);
      const rolledBack = await step(2);
      assert.deepEqual(Object.keys(rolledBack), [blue], JSON.stringify(rolledBack));

      // Green fixed: half and half, then all of it; blue could now be stopped.
      greenProxy.mode = 'pass';
      write([{ url: blue }, { url: greenProxy.url }]);
      const half = await step(3);
      assert.ok((half[greenProxy.url] ?? 0) >= 15 && (half[blue] ?? 0) >= 15, JSON.stringify(half));
      write([{ url: greenProxy.url }]);
      const shifted = await step(4);
      assert.deepEqual(Object.keys(shifted), [greenProxy.url], JSON.stringify(shifted));
    } finally {
      running = false;
      await load;
    }
    const failed = answers.filter((a) => a.errors || a.data?.products?.edges.length !== 3);
    assert.deepEqual(failed, [], `${failed.length} of ${answers.length} queries failed`);
    assert.equal(await reloads('refused'), 0);
  });

  const BAD: [string, Record<string, unknown>, RegExp][] = [
    [
      'an unknown key',
      { subgraphs: { products: { instances: [{ url: 'http://127.0.0.1:1/graphql', wieght: 2 }] } } },
      /subgraphs\.products\.instances\.0\.wieght: unknown key/,
    ],
    [
      'a negative timeout',
      { subgraphs: { products: { timeouts: { request_ms: -5 } } } },
      /subgraphs\.products\.timeouts\.request_ms: must be at least 1/,
    ],
    [
      'a weight out of range',
      { subgraphs: { products: { instances: [{ url: 'http://127.0.0.1:1/graphql', weight: 0 }] } } },
      /subgraphs\.products\.instances\.0\.weight: must be a whole number from 1 to 1000/,
    ],
    [
      'an instance listed twice',
      {
        subgraphs: {
          products: { instances: [{ url: 'http://a:1/graphql' }, { url: 'http://a:1/graphql', weight: 2 }] },
        },
      },
      /subgraphs\.products\.instances\.1\.url: "http:\/\/a:1\/graphql" is listed twice/,
    ],
  ];

  it('refuses a bad routing file at start, naming the key', async () => {
    for (const [what, content, message] of BAD) {
      await assert.rejects(
        stack.startGateway({ TRAFFIC_SHAPING_CONFIG: trafficFile(content) }, { logger: silent }),
        (error: Error) => (assert.match(error.message, message, what), true),
      );
    }
  });

  it('refuses a bad routing file on reload, naming the key, and keeps routing as before', async () => {
    const file = trafficFile({ subgraphs: { products: { instances: [{ url: blue }] } } });
    const logs = captureLogs();
    const { ask, events, perInstance, reloads } = await gatewayOn(file, logs.logger);
    for (const [index, [what, content, message]] of BAD.entries()) {
      writeFileSync(file, JSON.stringify(content));
      await eventually(async () => (await reloads('refused')) === index + 1, 10_000, `${what} refused`);
      const refusal = logs.find(/traffic-shaping file refused/).at(-1)!;
      assert.match(String(refusal.reason), message, what);
      const from = events.length;
      for (let i = 0; i < 5; i++) assert.equal((await ask()).data?.products?.edges.length, 3);
      assert.deepEqual(Object.keys(perInstance(from)), [blue], `after ${what}`);
    }
    assert.equal(await reloads('applied'), 0);
  });
});

async function metricValue(gateway: RunningGateway, name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const line of (await gateway.metrics.render()).split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => series[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
