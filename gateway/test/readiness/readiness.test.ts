import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsumerState } from '@storefront/platform/events';
import { gatewayReadiness, type ReadinessSources } from '../../src/readiness/index.ts';

/**
 * The verdict of the gateway's /readyz for each state of what it depends on
 * (test/e2e/gateway-readiness.test.ts sees the same through a running stack).
 */
const supergraph = { sdl: 'type Query { a: Int }', subgraphs: [{ name: 'products', url: 'http://p/graphql' }] };

function answer(over: Partial<ReadinessSources> = {}, requireSubgraphs = false) {
  const sources: ReadinessSources = {
    draining: () => false,
    supergraph: () => supergraph,
    subgraphs: () => ({ products: { instances: 2, healthyInstances: 2 } }),
    store: () => 'connected',
    consumers: () => ({ revocations: 'running', 'catalog-changes': undefined }),
    ...over,
  };
  const { statusCode, body } = gatewayReadiness({ READINESS_REQUIRE_SUBGRAPHS: requireSubgraphs }, sources)();
  return { statusCode, status: body.status, body };
}
const consumer = (state: ConsumerState) => () => ({ revocations: state });
const productsDown = () => ({ products: { instances: 2, healthyInstances: 0 } });

describe('gateway readiness verdict', () => {
  it('is ready when everything is; a consumer that is not running here is left out', () => {
    const { statusCode, status, body } = answer();
    assert.deepEqual([statusCode, status], [200, 'ready']);
    assert.deepEqual(body.consumers, { revocations: 'running' });
  });

  it('is 503 when the instance itself cannot serve: draining, no supergraph, a consumer stopped', () => {
    assert.deepEqual(Object.values(answer({ draining: () => true })).slice(0, 2), [503, 'draining']);
    assert.deepEqual(Object.values(answer({ supergraph: () => undefined })).slice(0, 2), [503, 'not ready']);
    assert.deepEqual(Object.values(answer({ consumers: consumer('stopped') })).slice(0, 2), [503, 'not ready']);
  });

  it('is 200 "degraded" for what every replica shares: a subgraph down, Redis unreachable, Kafka restarting a consumer', () => {
    for (const over of [
      { subgraphs: productsDown },
      { store: () => 'unreachable (in-memory fallback)' as const },
      { consumers: consumer('restarting') },
    ])
      assert.deepEqual(Object.values(answer(over)).slice(0, 2), [200, 'degraded'], JSON.stringify(answer(over).body));
    // The embedded default has no Redis by design: nothing is degraded about it.
    assert.equal(answer({ store: () => 'not configured (in-memory fallback)' }).status, 'ready');
  });

  it('READINESS_REQUIRE_SUBGRAPHS makes a subgraph without a healthy instance a 503', () => {
    assert.deepEqual(Object.values(answer({ subgraphs: productsDown }, true)).slice(0, 2), [503, 'not ready']);
    assert.equal(answer({}, true).statusCode, 200);
  });

  it('lists a subgraph of the supergraph that has no client yet as having no instance', () => {
    const { statusCode, body } = answer({ subgraphs: () => ({}) });
    assert.deepEqual(body.subgraphs, { products: { instances: 0, healthyInstances: 0 } });
    assert.equal(statusCode, 200);
  });
});
