import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '@storefront/gateway';
import { createLogger } from '@storefront/platform/logger';
import { eventually } from '@storefront/platform/testing';
import { trafficFile } from '../support/fault-proxy.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The gateway's GET /readyz as operators and load balancers see it: the
 * supergraph, each subgraph's healthy instances, Redis (or the in-memory
 * fallback, declared) and the gateway's own consumers, as JSON. A subgraph
 * with no healthy instance, or Redis unreachable, is "degraded" with 200:
 * every replica would see it at once, and a 503 would take the whole API
 * down (gateway/src/readiness/index.ts); READINESS_REQUIRE_SUBGRAPHS=true
 * makes the first a 503.
 */
interface ReadyBody {
  status: string;
  supergraph: { loaded: boolean; subgraphs?: number; id?: string };
  subgraphs: Record<string, { instances: number; healthyInstances: number }>;
  redis: string;
  consumers: Record<string, string>;
}

const SUBGRAPHS = ['notifications', 'orders', 'products', 'users'];
const silent = createLogger({ name: 'test', level: 'silent' });

async function readyz(gateway: RunningGateway): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(new URL('/readyz', gateway.url), { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('gateway readiness', { timeout: 300_000 }, () => {
  let stack: Stack;
  // Health checks of each subgraph instance every 200 ms, so a stopped one is seen at once.
  const fastChecks = () => trafficFile({ all: { health_check: { interval_ms: 200 } } });

  before(async () => {
    stack = await startStack({ gatewayEnv: { TRAFFIC_SHAPING_CONFIG: fastChecks() } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers 200 "ready" with the supergraph, every subgraph, the store and its consumers in the body', async () => {
    const { status, body } = await readyz(stack.gateway);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.equal(body.supergraph.loaded, true);
    assert.equal(body.supergraph.subgraphs, 4);
    assert.match(body.supergraph.id ?? '', /^[0-9a-f]{12}$/);
    assert.deepEqual(Object.keys(body.subgraphs).sort(), SUBGRAPHS);
    for (const name of SUBGRAPHS) assert.deepEqual(body.subgraphs[name], { instances: 1, healthyInstances: 1 }, name);
    assert.equal(body.redis, process.env.REDIS_URL ? 'connected' : 'not configured (in-memory fallback)');
    assert.deepEqual(body.consumers, { revocations: 'running', 'catalog-changes': 'running' });
    const live = await fetch(new URL('/healthz', stack.gateway.url));
    assert.deepEqual([live.status, await live.json()], [200, { status: 'ok' }]);
  });

  if (process.env.REDIS_URL) {
    it('declares the in-memory fallback while Redis is unreachable, and stays in service', async () => {
      const gateway = await stack.startGateway(
        { REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, TRAFFIC_SHAPING_CONFIG: fastChecks() },
        { logger: silent },
      );
      const { status, body } = await eventually(
        async () => {
          const answer = await readyz(gateway);
          return answer.body.redis === 'unreachable (in-memory fallback)' && answer;
        },
        15_000,
        'the fallback to be declared',
      );
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.status, 'degraded');
      const served = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ categories { name } }' }),
      });
      assert.equal(served.status, 200, 'queries are still answered');
    });
  }

  it('a subgraph with no healthy instance is "degraded" with 200; with READINESS_REQUIRE_SUBGRAPHS it is 503', async () => {
    const strict = await stack.startGateway(
      { READINESS_REQUIRE_SUBGRAPHS: 'true', TRAFFIC_SHAPING_CONFIG: fastChecks() },
      { logger: silent },
    );
    assert.equal((await readyz(strict)).status, 200, 'every subgraph is up yet');

    await stack.services.notifications.stop();

    // One slow health check on a busy machine can count a live subgraph down for a moment (checks every 200 ms
    // here): wait for the picture the test is about, the stopped subgraph down and the others up.
    const degraded = await eventually(
      async () => {
        const answer = await readyz(stack.gateway);
        return (
          answer.body.subgraphs.notifications?.healthyInstances === 0 &&
          answer.body.subgraphs.products?.healthyInstances === 1 &&
          answer
        );
      },
      15_000,
      'the stopped subgraph to be reported, and the others healthy',
    );
    assert.equal(degraded.status, 200, JSON.stringify(degraded.body));
    assert.equal(degraded.body.status, 'degraded');
    assert.deepEqual(degraded.body.subgraphs.products, { instances: 1, healthyInstances: 1 });
    // Still worth routing to: what does not need the stopped subgraph is answered.
    const products = await stack.query<{ categories: unknown[] }>('{ categories { name } }');
    assert.equal(products.status, 200);
    assert.ok(Array.isArray(products.data?.categories), JSON.stringify(products));

    const unready = await eventually(
      async () => {
        const answer = await readyz(strict);
        return answer.status === 503 && answer;
      },
      15_000,
      'the strict gateway to answer 503',
    );
    assert.equal(unready.body.status, 'not ready');
    assert.equal(unready.body.subgraphs.notifications?.healthyInstances, 0);
  });
});
